// Every error answer Warden itself gives goes out through `sendError` here, in the shape of the
// API called, so each client library shows the message (an SDK that expects `error.message`
// prints "undefined" for Ollama's plain shape):
//   - Ollama's API:               {"error": "message"}  (ollama-js, ollama-python, the Go client)
//   - OpenAI's (/v1/*):           {"error": {"message", "type", "param": null, "code"}}
//   - Anthropic's (/v1/messages): {"type": "error", "error": {"type", "message"}}
//   - the admin API (/_warden/*): {"error", "code", "field"?} (docs/admin-api.md)
// Types follow Ollama's own openai.NewError / anthropic.NewError (v0.33), which follow the APIs.
// Ollama's answers are never reshaped: this is only for what Warden itself says. The status and
// the headers come from the error's code (errors.ts); nothing here chooses them.
import type { OutgoingHttpHeader, ServerResponse } from 'node:http';
import { ErrorCode, WardenError, isWardenError } from './errors.ts';

function errorType(status: number): string {
  switch (status) {
    case 400:
    case 413:
    case 431:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

/** The admin API's error body (docs/admin-api.md). */
export interface AdminErrorBody {
  error: string;
  code: string;
  /** The config/form field the message is about, when there is one. */
  field?: string;
}

/** The JSON body of an error answer for a request to `url` (the request target as received). */
export function errorBody(url: string | undefined, err: WardenError): unknown {
  const path = (url ?? '').split('?')[0] ?? '';
  // A WardenError's message is written to be shown (errors.ts); only a bug's is hidden.
  const message = err.code === ErrorCode.INTERNAL ? 'internal error' : err.message;
  const status = err.status;
  if (path.startsWith('/_warden/')) {
    const body: AdminErrorBody = { error: message, code: err.code };
    // the UI shows the message next to this field (fieldError, configError)
    if (err.field !== undefined) body.field = err.field;
    return body;
  }
  if (path === '/v1/messages' || path.startsWith('/v1/messages/')) return { type: 'error', error: { type: errorType(status), message } };
  if (path.startsWith('/v1/')) return { error: { message, type: errorType(status), param: null, code: err.code } };
  return { error: message };
}

/** The error for anything not raised on purpose: the caller logs it in full; the client sees "internal error". */
export function internalError(cause: unknown): WardenError {
  return new WardenError(ErrorCode.INTERNAL, 'internal error', { cause, reason: cause instanceof Error ? cause.message : String(cause) });
}

export interface SendErrorOptions {
  /** Headers every answer to this request carries (X-Request-Id; the admin app's security headers). */
  headers?: Readonly<Record<string, OutgoingHttpHeader | undefined>>;
  /** Close the connection after the answer: a refused upload's unread body is still on the wire. */
  close?: boolean;
}

/** Answers `err` (anything not a WardenError is an internal error) and ends the response; once
 *  the status line is out, an answer can only be cut. Never a stack trace, never cached. */
export function sendError(res: ServerResponse, err: unknown, options: SendErrorOptions = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const e = isWardenError(err) ? err : internalError(err);
  const body = Buffer.from(JSON.stringify(errorBody(res.req?.url, e)));
  res.writeHead(e.status, {
    ...options.headers,
    ...e.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(options.close ? { connection: 'close' } : {}),
  });
  res.end(body);
}
