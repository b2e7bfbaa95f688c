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
 * Whether the line in `buf` from `start` to `end` can hold counts: within its first HEAD_BYTES
 * bytes, after blanks, a JSON object (`{`), or for SSE a data event carrying one (`data:`, one
 * optional blank, `{`). Reads bytes in place: this runs for every line of every answer.
 */
function holdsRecordAt(buf: Buffer, start: number, end: number, format: TokenFormat): boolean {
  return scanHead(buf, start, Math.min(end, start + HEAD_BYTES), format, HEAD_START) === HEAD_YES;
}

/** The same for a line in several parts (one that came split over chunks). */
function holdsRecord(parts: readonly Buffer[], format: TokenFormat): boolean {
  let state = HEAD_START;
  let left = HEAD_BYTES;
  for (const part of parts) {
    const n = Math.min(part.length, left);
    state = scanHead(part, 0, n, format, state);
    if (state === HEAD_YES || state === HEAD_NO) return state === HEAD_YES;
    left -= n;
    if (left === 0) return false;
  }
  return false;
}

// scanHead's state between parts: still skipping leading blanks, how much of `data:` matched
// (SSE: 0..5, then 6 once one blank after the colon was seen), or decided.
const HEAD_START = -1;
const HEAD_YES = -2;
const HEAD_NO = -3;
const AFTER_BLANK = DATA_COLON.length + 1;

function scanHead(buf: Buffer, from: number, to: number, format: TokenFormat, state: number): number {
  for (let j = from; j < to; j++) {
    const b = buf[j] as number;
    if (state === HEAD_START) {
      if (isBlank(b)) continue;
      if (format === 'ndjson') return b === OPEN_BRACE ? HEAD_YES : HEAD_NO;
      state = 0;
    }
    if (state < DATA_COLON.length) {
      if (b !== DATA_COLON[state]) return HEAD_NO;
      state++;
      continue;
    }
    if (b === OPEN_BRACE) return HEAD_YES;
    if (state === AFTER_BLANK || !isBlank(b)) return HEAD_NO;
    state = AFTER_BLANK;
  }
  return state;
}

/** A line that came split over chunks: its parts as references into them; oversize lines keep only a tail. */
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

/**
 * Allocates nothing for a line that arrives whole in one chunk (Ollama sends each NDJSON line as
 * its own HTTP chunk, so that is nearly every line of a stream): the last line that can hold
 * counts is remembered as its chunk and offsets. Only a line split over chunks is gathered in a
 * LineBuffer. (Two LineBuffers, a slice and an array per line were 22 kB of garbage per 50-line
 * stream, a quarter of everything such a request allocated.)
 */
export class TokenCounter {
  readonly #format: TokenFormat;
  /** the line in progress when it started in an earlier chunk; null when the last chunk ended a line */
  #current: LineBuffer | null = null;
  /** the last complete line that can hold counts: gathered from parts… */
  #last: LineBuffer | null = null;
  /** …or within one chunk (#lastBuf from #lastStart to #lastEnd) */
  #lastBuf: Buffer | null = null;
  #lastStart = 0;
  #lastEnd = 0;

  constructor(format: TokenFormat) {
    this.#format = format;
  }

  push(chunk: Buffer): void {
    const format = this.#format;
    const first = chunk.indexOf(NEWLINE);
    if (first === -1) {
      if (chunk.length > 0) (this.#current ??= new LineBuffer()).append(chunk, format);
      return;
    }
    // The line in progress ends here. Of the whole lines after it in this chunk, only the last
    // one that can hold counts matters, so they are searched from the end: a fast stream's chunk
    // of 50 lines costs one or two looks instead of 50.
    const last = chunk.lastIndexOf(NEWLINE);
    let end = last;
    while (end > first) {
      const start = chunk.lastIndexOf(NEWLINE, end - 1) + 1;
      if (end > start && holdsRecordAt(chunk, start, end, format)) {
        this.#rememberSlice(chunk, start, end);
        break;
      }
      end = start - 1;
    }
    // no later line qualified: the line that just ended may be the one
    if (end <= first) {
      const current = this.#current;
      if (current !== null) {
        current.append(chunk.subarray(0, first), format);
        if (current.holds(format)) {
          this.#last = current;
          this.#lastBuf = null;
        }
      } else if (first > 0 && holdsRecordAt(chunk, 0, first, format)) {
        this.#rememberSlice(chunk, 0, first);
      }
    }
    this.#current = null;
    if (last + 1 < chunk.length) (this.#current = new LineBuffer()).append(chunk.subarray(last + 1), format);
  }

  finish(): TokenCounts {
    const none = { promptTokens: null, evalTokens: null };
    const current = this.#current;
    this.#current = null;
    if (current !== null && current.holds(this.#format)) {
      this.#last = current;
      this.#lastBuf = null;
    }
    let text: string;
    let truncated: boolean;
    if (this.#lastBuf !== null) {
      const length = this.#lastEnd - this.#lastStart;
      truncated = length > MAX_PARSE_BYTES;
      text = this.#lastBuf.toString('utf8', truncated ? this.#lastEnd - TAIL_BYTES : this.#lastStart, this.#lastEnd);
    } else if (this.#last !== null) {
      truncated = this.#last.truncated;
      text = this.#last.text();
    } else {
      return none;
    }
    text = text.trim();
    if (this.#format === 'sse') text = text.replace(/^data:\s?/, '');
    if (!truncated) {
      try {
        return countsFromObject(JSON.parse(text));
      } catch {
        return none;
      }
    }
    return countsFromTail(text);
  }

  #rememberSlice(buf: Buffer, start: number, end: number): void {
    this.#lastBuf = buf;
    this.#lastStart = start;
    this.#lastEnd = end;
    this.#last = null;
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
