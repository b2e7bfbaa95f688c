// Copying an upstream body to the client. Each chunk is written as soon as it arrives; when the
// client's socket buffer is full (`write` returns false) the upstream body is paused until
// 'drain', so a slow reader makes Ollama wait instead of making Warden hold the answer in memory
// (slow-read memory exhaustion). A reader that stays stuck past the stall timeout is cut off.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** Buffers a small upstream answer for a responseFilter, refusing more than `limit` bytes. */
export function readLimited(body: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        reject(new Error(`answer larger than ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    });
    body.once('end', () => resolve(Buffer.concat(parts)));
    body.once('error', reject);
  });
}

/** The client stopped reading for longer than the stall timeout. */
export class StallError extends Error {}

/** Copies the upstream body to the client chunk by chunk, pausing the upstream while the client's buffer is full. */
export function pump(body: Readable, res: ServerResponse, onChunk: (chunk: Buffer) => void, stallMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stallTimer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      clearTimeout(stallTimer);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      res.off('drain', onDrain);
      res.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      onChunk(chunk);
      if (!res.write(chunk)) {
        body.pause();
        stallTimer = setTimeout(() => {
          cleanup();
          reject(new StallError('client stopped reading'));
        }, stallMs);
        res.once('drain', onDrain);
      }
    };
    const onDrain = (): void => {
      clearTimeout(stallTimer);
      body.resume();
    };
    const onEnd = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('client closed the connection'));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    res.once('close', onClose);
  });
}
