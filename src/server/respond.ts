// Every answer Warden itself gives (as opposed to Ollama's answers it passes through) goes
// through here: the error shape of the API called (api-errors.ts), security headers, never a stack trace.
import type { ServerResponse } from 'node:http';
import { WardenError, ErrorCode } from '../errors.ts';
import { errorBody } from '../api-errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: WardenError, closeConnection = false): void {
  const headers: Record<string, string> = { ...err.headers };
  if (closeConnection) headers.connection = 'close';
  // the body in the shape of the API the client called (/v1/*: OpenAI's, /v1/messages: Anthropic's)
  sendJson(res, err.status, errorBody(res.req?.url, err.status, err.message, err.code), headers);
}

/** The error for anything not thrown on purpose: logged in full by the caller, shown as one line. */
export function internalError(cause: unknown): WardenError {
  return new WardenError(ErrorCode.INTERNAL, 'internal error', { cause, reason: cause instanceof Error ? cause.message : String(cause) });
}
