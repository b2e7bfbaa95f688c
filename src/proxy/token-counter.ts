// Token counts for the audit log and per-key token limits, read from the LAST JSON record of an
// answer without parsing every chunk: Ollama's final NDJSON line carries `prompt_eval_count` and
// `eval_count`; an OpenAI-style answer carries `usage` in its final object or in the last SSE
// `data:` event before `[DONE]` (when the client asked for stream_options.include_usage).
//
// The counter only looks for newlines (a native indexOf) and keeps references to the bytes of the
// last complete record; JSON.parse runs once, at the end. A huge last record (a big embedding
// answer) is not kept whole: only its tail, where Ollama puts the counts, is searched.

export interface TokenCounts {
  promptTokens: number | null;
  evalTokens: number | null;
}

export type TokenFormat = 'ndjson' | 'sse';

/** Records bigger than this are not parsed; the counts are taken from their tail instead. */
const MAX_PARSE_BYTES = 256 * 1024;
/** How much of an oversize record's end is kept and searched. */
const TAIL_BYTES = 8 * 1024;
const NEWLINE = 0x0a;
/** How much of a line's start tells whether it can hold counts (`{`, or `data: {`, after blanks). */
const HEAD_BYTES = 16;

/** Picks the counter for a response content type; null when the answer carries no counts. */
export function tokenFormatFor(contentType: string | undefined): TokenFormat | null {
  if (!contentType) return null;
  const ct = contentType.toLowerCase();
  if (ct.startsWith('text/event-stream')) return 'sse';
  if (ct.startsWith('application/x-ndjson') || ct.startsWith('application/json')) return 'ndjson';
  return null;
}

const OPEN_BRACE = 0x7b;
const DATA_COLON = Buffer.from('data:', 'latin1');

/** Blank bytes as String.prototype.trimStart and \s see them in a latin1 reading of the bytes. */
function isBlank(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0;
}

/**
 * Whether a line (its parts in order) can hold counts: within its first HEAD_BYTES bytes, after
 * blanks, a JSON object (`{`), or for SSE a data event carrying one (`data:`, one optional blank,
 * `{`). Reads bytes in place: this runs for every line of every answer.
 */
function holdsRecord(parts: readonly Buffer[], format: TokenFormat): boolean {
  let seen = 0;
  let matched = -1; // -1: still skipping leading blanks; then how much of `data:` matched (SSE)
  let blankAfterColon = false;
  for (const part of parts) {
    for (let j = 0; j < part.length; j++) {
      if (seen++ >= HEAD_BYTES) return false;
      const b = part[j] as number;
      if (matched === -1) {
        if (isBlank(b)) continue;
        if (format === 'ndjson') return b === OPEN_BRACE;
        matched = 0;
      }
      if (matched < DATA_COLON.length) {
        if (b !== DATA_COLON[matched]) return false;
        matched++;
        continue;
      }
      if (b === OPEN_BRACE) return true;
      if (blankAfterColon || !isBlank(b)) return false;
      blankAfterColon = true;
    }
  }
  return false;
}

/** One line's bytes as references into the chunks they came in; oversize lines keep only a tail. */
class LineBuffer {
  parts: Buffer[] = [];
  bytes = 0;
  truncated = false;
  /** Whether the line can hold counts, worked out before its first bytes are dropped. */
  #holds: boolean | undefined;

  append(seg: Buffer, format: TokenFormat): void {
    if (seg.length === 0) return;
    this.parts.push(seg);
    this.bytes += seg.length;
    if (this.bytes > MAX_PARSE_BYTES) {
      this.holds(format);
      // drop whole leading parts while the rest still covers the tail we want
      while (this.parts.length > 1 && this.bytes - (this.parts[0] as Buffer).length >= TAIL_BYTES) {
        this.bytes -= (this.parts.shift() as Buffer).length;
      }
      this.truncated = true;
    }
  }

  holds(format: TokenFormat): boolean {
    return (this.#holds ??= holdsRecord(this.parts, format));
  }

  text(): string {
    const all = Buffer.concat(this.parts);
    return (this.truncated ? all.subarray(Math.max(0, all.length - TAIL_BYTES)) : all).toString('utf8');
  }
}

export class TokenCounter {
  readonly #format: TokenFormat;
  #current = new LineBuffer();
  #last: LineBuffer | null = null;

  constructor(format: TokenFormat) {
    this.#format = format;
  }

  push(chunk: Buffer): void {
    const first = chunk.indexOf(NEWLINE);
    if (first === -1) {
      this.#current.append(chunk, this.#format);
      return;
    }
    // The line in progress ends here. Of the whole lines after it in this chunk, only the last
    // one that can hold counts matters, so they are searched from the end: a fast stream's chunk
    // of 50 lines costs one or two looks instead of 50.
    this.#current.append(chunk.subarray(0, first), this.#format);
    const last = chunk.lastIndexOf(NEWLINE);
    let end = last;
    while (end > first) {
      const start = chunk.lastIndexOf(NEWLINE, end - 1) + 1;
      if (end > start) {
        const line = new LineBuffer();
        line.append(chunk.subarray(start, end), this.#format);
        if (line.holds(this.#format)) {
          this.#last = line;
          break;
        }
      }
      end = start - 1;
    }
    // no later line qualified: the line that just ended may be the one
    if (end <= first) this.#endLine();
    this.#current = new LineBuffer();
    if (last + 1 < chunk.length) this.#current.append(chunk.subarray(last + 1), this.#format);
  }

  finish(): TokenCounts {
    this.#endLine();
    const none = { promptTokens: null, evalTokens: null };
    const line = this.#last;
    if (line === null) return none;
    let text = line.text().trim();
    if (this.#format === 'sse') text = text.replace(/^data:\s?/, '');
    if (!line.truncated) {
      try {
        return countsFromObject(JSON.parse(text));
      } catch {
        return none;
      }
    }
    return countsFromTail(text);
  }

  /** Remembers the line just completed if it can hold counts. */
  #endLine(): void {
    const line = this.#current;
    if (line.bytes === 0) return;
    this.#current = new LineBuffer();
    if (line.holds(this.#format)) this.#last = line;
  }
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** Reads the counts from a parsed final record: Ollama native, OpenAI usage, or Responses-API usage. */
export function countsFromObject(obj: unknown): TokenCounts {
  if (obj === null || typeof obj !== 'object') return { promptTokens: null, evalTokens: null };
  const o = obj as Record<string, unknown>;
  if ('prompt_eval_count' in o || 'eval_count' in o) return { promptTokens: num(o.prompt_eval_count), evalTokens: num(o.eval_count) };
  const usage = (o.usage ?? (o.response as Record<string, unknown> | undefined)?.usage) as Record<string, unknown> | undefined;
  if (usage && typeof usage === 'object') {
    return {
      promptTokens: num(usage.prompt_tokens ?? usage.input_tokens),
      evalTokens: num(usage.completion_tokens ?? usage.output_tokens),
    };
  }
  return { promptTokens: null, evalTokens: null };
}

/**
 * Counts from the end of a record too big to parse. A quote inside a JSON string is escaped
 * (`\"eval_count\"`), so text in a model's answer cannot forge these matches.
 */
function countsFromTail(text: string): TokenCounts {
  const last = (re: RegExp): number | null => {
    let found: number | null = null;
    for (const m of text.matchAll(re)) found = num(Number(m[1]));
    return found;
  };
  const prompt = last(/"prompt_eval_count":\s*(\d+)/g) ?? last(/"prompt_tokens":\s*(\d+)/g);
  const evals = last(/"eval_count":\s*(\d+)/g) ?? last(/"completion_tokens":\s*(\d+)/g);
  return { promptTokens: prompt, evalTokens: evals };
}
