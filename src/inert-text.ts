// Text a client or an upstream chose (model names, paths, reasons, key names, Ollama's version
// string) must never act on the terminal or page that shows it: an ESC or a C1 CSI starts a
// terminal command (OSC 8 links, cursor moves, window titles), CR and line separators forge
// lines, bidi overrides (Trojan Source, CVE-2021-42574) make text read differently from what it
// is. inert() replaces every such character with a visible escape; everything else is kept.
// The one escaping function: the CLI's output layer, the audit writer and the web UI use it.

/** C0 controls, DEL, C1 controls, U+2028/U+2029, bidi embeddings/overrides (U+202A–202E) and
 *  isolates (U+2066–2069). Matching control characters is the point here. */
/* eslint-disable no-control-regex */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_ONE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
/* eslint-enable no-control-regex */

function escapeOne(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** The text with every control, line-separator and bidi character shown as \xHH or \uHHHH. */
export function inert(text: string): string {
  return UNSAFE_ONE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}

/** Like inert() but keeps LF: for multi-line messages Warden writes itself around untrusted parts. */
export function inertLines(text: string): string {
  return text.split('\n').map(inert).join('\n');
}

/** Whether text holds a character inert() would escape. */
export function hasUnsafeText(text: string): boolean {
  return UNSAFE_ONE.test(text);
}

/** Every string inside a JSON-like value made inert (keys included); other values kept.
 *  keepLf: LF stays (a web page shows it as a space or a line break, it forges nothing there). */
export function inertDeep<T>(value: T, keepLf = false): T {
  if (typeof value === 'string') return (keepLf ? inertLines(value) : inert(value)) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => inertDeep(v, keepLf)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[inert(k)] = inertDeep(v, keepLf);
    return out as T;
  }
  return value;
}

const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const JSON_UNSAFE_ONE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** JSON text made safe on a terminal: JSON.stringify (and pino) escape C0 only, so the rest
 *  become \uHHHH inside the strings (the same JSON value once parsed). */
export function safeJsonText(json: string): string {
  return JSON_UNSAFE_ONE.test(json) ? json.replace(JSON_UNSAFE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`) : json;
}

export function safeJson(value: unknown, indent?: number): string {
  return safeJsonText(JSON.stringify(value, null, indent));
}
