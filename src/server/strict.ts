// Strict request reading (docs/design.md §3). Node's parser already refuses the worst framing tricks
// (Content-Length together with Transfer-Encoding, differing Content-Lengths, bare CR); these
// checks cover what it lets through but a front-end proxy must not: a second Host header
// (Node silently keeps the first), absolute-form targets, TRACE, Upgrade, Transfer-Encoding on
// HTTP/1.0, and anything but plain `chunked`. Each answer is 400 and the connection is closed,
// because after ambiguous framing the next bytes on the socket cannot be trusted.
import type { IncomingMessage } from 'node:http';
import { ErrorCode, WardenError } from '../errors.ts';
import { goFoldKey } from '../policy/json-fold.ts';

const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

function bad(reason: string): WardenError {
  return new WardenError(ErrorCode.BAD_REQUEST, 'bad request', { reason });
}

/** Returns an error when the request must be refused before anything else looks at it.
 *  `maxHeaders`: most header lines allowed (the server keeps at most one more, see listener.ts). */
export function checkRequestFraming(req: IncomingMessage, maxHeaders = Number.POSITIVE_INFINITY): WardenError | null {
  if (req.rawHeaders.length / 2 > maxHeaders) {
    return new WardenError(ErrorCode.HEADERS_TOO_LARGE, 'too many request headers', { reason: `more than ${maxHeaders} header lines` });
  }
  // HTTP/0.9 and anything not 1.x: no headers to authenticate and nothing a client of ours sends.
  if (req.httpVersionMajor !== 1) return bad(`HTTP version ${req.httpVersion} is not supported`);
  const method = req.method ?? '';
  if (REFUSED_METHODS.has(method)) return bad(`method ${method} is not allowed`);
  const url = req.url ?? '';
  if (!url.startsWith('/')) return bad('request target must be origin-form (/path)');
  let hosts = 0;
  let contentLengths = 0;
  let transferEncodings = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'host') hosts++;
    else if (name === 'content-length') contentLengths++;
    else if (name === 'transfer-encoding') transferEncodings++;
    else if (name === 'upgrade') return bad('protocol upgrades are not allowed');
  }
  if (hosts > 1) return bad('more than one Host header');
  if (contentLengths > 1) return bad('more than one Content-Length header');
  if (transferEncodings > 1) return bad('more than one Transfer-Encoding header');
  if (transferEncodings === 1) {
    if (req.httpVersion === '1.0') return bad('Transfer-Encoding on HTTP/1.0');
    if ((req.headers['transfer-encoding'] ?? '').toLowerCase() !== 'chunked') return bad('Transfer-Encoding other than chunked');
    if (contentLengths > 0) return bad('Content-Length together with Transfer-Encoding');
  }
  return null;
}

// After Warden refuses a request and closes the connection, the bytes still arriving on it are
// the rest of the same attack (a smuggled body, a broken line), not a new request: the parser's
// complaint about them must not be answered or audited a second time.
const refusedSockets = new WeakSet<object>();

export function markRefused(socket: object): void {
  refusedSockets.add(socket);
}

export function wasRefused(socket: object): boolean {
  return refusedSockets.has(socket);
}

// Ollama decodes request bodies with Go's encoding/json, which matches object keys to struct
// fields CASE-INSENSITIVELY (with Unicode simple folding: "\u212A" KELVIN SIGN is a "k", "\u017F"
// LONG S an "s") and lets a later key overwrite an earlier one. Warden reads keys exactly, as
// JavaScript does. Without this check `{"model":"allowed","Model":"forbidden"}` passes the model
// policy on "model" while Ollama runs "Model", and `{"KEEP_ALIVE":-1}` walks past the caps.
// So: two top-level keys that fold to the same name are refused, and so is any other spelling of
// a field Warden inspects.
const INSPECTED_FIELDS = new Set([
  'model',
  'name',
  'source',
  'destination',
  'from',
  'insecure',
  'options',
  'keep_alive',
  'max_tokens',
  'max_completion_tokens',
  'max_output_tokens',
]);

function ambiguousJson(what: string): WardenError {
  return new WardenError(ErrorCode.BAD_REQUEST, `ambiguous request body: ${what}`, { reason: `ambiguous JSON body: ${what}` });
}

/** Refuses a JSON body whose top-level keys Ollama (Go) would read differently from Warden. */
export function checkJsonKeys(json: unknown): WardenError | null {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const seen = new Set<string>();
  for (const key of Object.keys(json)) {
    const folded = goFoldKey(key);
    if (seen.has(folded)) return ambiguousJson(`JSON keys that differ only in case (${JSON.stringify(folded.slice(0, 40))})`);
    seen.add(folded);
    if (folded !== key && INSPECTED_FIELDS.has(folded)) return ambiguousJson(`JSON key ${JSON.stringify(key.slice(0, 40))} is another spelling of "${folded}"`);
  }
  return null;
}
