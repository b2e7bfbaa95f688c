// Translates a failed upstream request into the one answer the client gets (docs/design.md §5): Ollama
// not reachable → 502 {"error":"upstream Ollama is unreachable"}; no response head in time
// → 504. Done in one place so every route fails the same way. The client's message never names
// the internal upstream address (it tells an outsider where Ollama lives); the audit reason does.
import { ErrorCode, WardenError } from '../errors.ts';

/** Errors that mean "could not connect", as opposed to "connected, then it went wrong". */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The error's code, looking inside AggregateError (Node's happy-eyeballs connect tries every address). */
export function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  if (e.cause !== undefined) return errorCode(e.cause);
  return undefined;
}

export function isConnectError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && CONNECT_CODES.has(code);
}

/** The response head did not come within the first-byte limit (a hung upstream). */
export class FirstByteTimeoutError extends Error {
  readonly code = 'WARDEN_FIRST_BYTE_TIMEOUT';
}

/** The upstream failed its health probe while the request waited for the response head. */
export class UpstreamDeadError extends Error {
  readonly code = 'WARDEN_UPSTREAM_DEAD';
}

/** Failures before any answer that make a retry elsewhere safe and worthwhile: the upstream
 *  refused or reset the connection, closed it without a response head, or hung. */
export function isFailoverSafe(err: unknown): boolean {
  if (err instanceof FirstByteTimeoutError || err instanceof UpstreamDeadError) return true;
  return isConnectError(err) || errorCode(err) === 'UND_ERR_HEADERS_TIMEOUT';
}

export function upstreamError(upstreamUrl: string, err: unknown): WardenError {
  const code = errorCode(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'WARDEN_FIRST_BYTE_TIMEOUT') {
    return new WardenError(ErrorCode.UPSTREAM_TIMEOUT, 'upstream Ollama did not answer in time', {
      cause: err,
      reason: `${upstreamUrl}: ${code}`,
    });
  }
  return new WardenError(ErrorCode.UPSTREAM_UNREACHABLE, 'upstream Ollama is unreachable', {
    cause: err,
    reason: `${upstreamUrl}: ${code ?? (err instanceof Error ? err.message : String(err))}`,
  });
}
