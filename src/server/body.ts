// Reading a JSON request body that policy must inspect (the `model` field). It is read whole,
// up to limits.maxBodyBytes, parsed once, and the same bytes are forwarded — never a body
// that was not inspected.
import type { IncomingMessage } from 'node:http';
import { ErrorCode, WardenError } from '../errors.ts';
import type { BodyReservation } from './body-budget.ts';

export function bodyTooLarge(limit: number): WardenError {
  return new WardenError(ErrorCode.BODY_TOO_LARGE, `request body is larger than ${limit} bytes`);
}

export function bodyOverBudget(): WardenError {
  return new WardenError(ErrorCode.OVERLOADED, 'server busy: too many request bodies in flight, try again shortly', {
    headers: { 'retry-after': '1' },
    reason: 'request body memory budget (limits.bodyMemoryBytes) exhausted',
  });
}

/** Reads the whole body, charging its bytes to `reservation` (the global body budget). Rejects
 *  with 413 over `limit`, 503 when the budget is spent, 408 after `timeoutMs`, 400 when the
 *  client goes away: whatever happens, the chunks read so far are dropped at once. */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number, reservation: BodyReservation): Promise<Buffer> {
  const declaredHeader = req.headers['content-length'];
  const declared = declaredHeader === undefined ? null : Number(declaredHeader);
  if (declared !== null && declared > limit) return Promise.reject(bodyTooLarge(limit));
  // A declared length is reserved whole before a byte is read (Node's parser holds the client to it).
  if (declared !== null && !reservation.grow(declared)) return Promise.reject(bodyOverBudget());
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: WardenError): void => {
      cleanup();
      chunks = [];
      reject(err);
    };
    const timer = setTimeout(() => fail(new WardenError(ErrorCode.REQUEST_TIMEOUT, 'request body was not received in time')), timeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return fail(bodyTooLarge(limit));
      if (declared === null && !reservation.grow(chunk.length)) return fail(bodyOverBudget());
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // The client closed before the body was complete (Node reports it as an 'aborted' error, or
    // only as 'close'): drop what we hold now, not at the timeout.
    const clientLeft = (cause?: Error): WardenError =>
      new WardenError(ErrorCode.BAD_REQUEST, 'client closed the connection before the body was complete', { cause });
    const onError = (err: Error & { code?: string }): void =>
      fail(err.code === 'ECONNRESET' ? clientLeft(err) : new WardenError(ErrorCode.BAD_REQUEST, 'request body could not be read', { cause: err }));
    const onClose = (): void => {
      if (!req.complete) fail(clientLeft());
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function parseJsonBody(buf: Buffer): unknown {
  if (buf.length === 0) throw new WardenError(ErrorCode.BAD_REQUEST, 'request body must be JSON');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new WardenError(ErrorCode.BAD_REQUEST, 'request body is not valid JSON');
  }
}
