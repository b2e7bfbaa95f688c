// The body forward() sends: the one the caller already read, or a client's streamed upload (an
// /api/blobs upload, up to limits.maxBlobBytes) piped to undici with a byte cap, pulling one
// chunk at a time so back-pressure reaches the client's socket.
//
// It reads with read()/'readable' instead of `for await (… of req)`: leaving a for-await loop
// early destroys the stream, and destroying an unfinished IncomingMessage destroys its socket —
// which would leave no way to answer 413.
import { Readable } from 'node:stream';
import { ErrorCode, WardenError } from '../errors.ts';
import { sendError } from '../api-errors.ts';
import type { Exchange } from './exchange.ts';

export interface BodyProgress {
  /** Bytes read from the client so far. */
  bytes: number;
  /** The cap was exceeded: the caller answers 413. */
  overCap: boolean;
  /** The client went away before sending the whole body. */
  clientGone: boolean;
}

function nextEvent(stream: Readable): Promise<'readable' | 'end'> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onReadable = (): void => {
      cleanup();
      resolve('readable');
    };
    const onEnd = (): void => {
      cleanup();
      resolve('end');
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      if (stream.readableEnded) resolve('end');
      else reject(new Error('client closed the connection during the upload'));
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

export async function* cappedBody(stream: Readable, maxBytes: number, progress: BodyProgress): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      progress.bytes += chunk.length;
      if (progress.bytes > maxBytes) {
        progress.overCap = true;
        throw new WardenError(ErrorCode.BODY_TOO_LARGE, `request body exceeds ${maxBytes} bytes`);
      }
      yield chunk;
      continue;
    }
    if (stream.readableEnded) return;
    try {
      if ((await nextEvent(stream)) === 'end') return;
    } catch (err) {
      progress.clientGone = true;
      throw err;
    }
  }
}

/** Sets the exchange's request body. A streamed upload whose declared length is over the cap is
 *  refused (413, connection closed) before Ollama sees a byte: false then. */
export function openRequestBody(ex: Exchange): boolean {
  const { req, opts } = ex;
  if (opts.body === 'stream') {
    const max = opts.maxStreamBytes ?? Number.POSITIVE_INFINITY;
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      ex.contentLength = Number(declared);
      if (!(ex.contentLength <= max)) {
        sendError(ex.res, new WardenError(ErrorCode.BODY_TOO_LARGE, `request body exceeds ${max} bytes`), { headers: ex.extra, close: true });
        return false;
      }
    }
    // Readable.from pulls the next chunk only when undici asks: back-pressure reaches the client
    ex.requestBody = Readable.from(cappedBody(req, max, ex.progress), { objectMode: false });
  } else if (opts.body !== null) {
    ex.requestBody = opts.body;
    ex.result.bytesIn = opts.body.length;
  }
  return true;
}
