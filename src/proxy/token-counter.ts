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

/** Picks the counter for a response content type; null when the answer carries no counts. */
export function tokenFormatFor(contentType: string | undefined): TokenFormat | null {
  if (!contentType) return null;
  const ct = contentType.toLowerCase();
  if (ct.startsWith('text/event-stream')) return 'sse';
  if (ct.startsWith('application/x-ndjson') || ct.startsWith('application/json')) return 'ndjson';
  return null;
}

/** One line's bytes as references into the chunks they came in; oversize lines keep only a tail. */
class LineBuffer {
  parts: Buffer[] = [];
  bytes = 0;
  /** First bytes of the line (to recognise `{` / `data: {` even after the head was dropped). */
  head = '';
  truncated = false;

  append(seg: Buffer): void {
    if (seg.length === 0) return;
    if (this.head.length < 16) this.head += seg.subarray(0, 16 - this.head.length).toString('latin1');
    this.parts.push(seg);
    this.bytes += seg.length;
    if (this.bytes > MAX_PARSE_BYTES) {
      // drop whole leading parts while the rest still covers the tail we want
      while (this.parts.length > 1 && this.bytes - (this.parts[0] as Buffer).length >= TAIL_BYTES) {
        this.bytes -= (this.parts.shift() as Buffer).length;
      }
      this.truncated = true;
    }
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
    let pos = 0;
    let nl = chunk.indexOf(NEWLINE, pos);
    while (nl !== -1) {
      this.#current.append(chunk.subarray(pos, nl));
      this.#endLine();
      pos = nl + 1;
      nl = chunk.indexOf(NEWLINE, pos);
    }
    if (pos < chunk.length) this.#current.append(chunk.subarray(pos));
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

  /** Remembers the line just completed if it can hold counts: a JSON object, or an SSE data event carrying one. */
  #endLine(): void {
    const line = this.#current;
    if (line.bytes === 0) return;
    this.#current = new LineBuffer();
    const head = line.head.trimStart();
    const relevant = this.#format === 'sse' ? /^data:\s?\{/.test(head) : head.startsWith('{');
    if (relevant) this.#last = line;
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
