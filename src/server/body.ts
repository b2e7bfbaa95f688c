// Reading a JSON request body that policy must inspect (the `model` field). It is read whole,
// up to limits.maxBodyBytes, parsed once, and the same bytes are forwarded — never a body
// that was not inspected.
import type { IncomingMessage } from 'node:http';
import { ErrorCode, WardenError } from '../errors.ts';

export function bodyTooLarge(limit: number): WardenError {
  return new WardenError(ErrorCode.BODY_TOO_LARGE, `request body is larger than ${limit} bytes`, { status: 413 });
}

export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(bodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(new WardenError(ErrorCode.BAD_REQUEST, 'request body was not received in time', { status: 408 }));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new WardenError(ErrorCode.BAD_REQUEST, 'request body could not be read', { status: 400, cause: err }));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

export function parseJsonBody(buf: Buffer): unknown {
  if (buf.length === 0) throw new WardenError(ErrorCode.BAD_REQUEST, 'request body must be JSON', { status: 400 });
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new WardenError(ErrorCode.BAD_REQUEST, 'request body is not valid JSON', { status: 400 });
  }
}
