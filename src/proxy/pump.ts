// Copying an upstream body to the client. Chunks are written in the same turn of the event loop
// they arrive in (its check phase, right after the socket reads); when the client's socket buffer is full (`write` returns false) the upstream
// body is paused until 'drain', so a slow reader makes Ollama wait instead of making Warden hold
// the answer in memory (slow-read memory exhaustion). A reader that stays stuck past the stall
// timeout is cut off.
//
// Ollama writes each NDJSON line as its own HTTP chunk, and undici hands over one chunk per line
// even when one socket read brought dozens. Writing each one costs a chunk header, a pass
// through Node's Writable machinery and a slot in the TLS writev, per line. So the chunks of one
// turn's reads are gathered and written once, at setImmediate — no chunk waits for more data (a
// slow stream's single line goes out in the turn it came). When the upstream's end came in the
// same turn (a short answer: one read), the chunks are handed to end() itself instead, so they
// and the chunked terminator leave as one TLS record even while the end is held for the audit
// line (server/hold-end.ts) until the turn ends. Written at process.nextTick, they left before the
// end was known, and the held terminator then was a TLS record and a syscall of its own.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Buffer.concat without Node's shared pool. Buffer.concat puts results under 32 KB into a
 * shared 64 KB slab, and a slab's memory is freed only once every slice of it is garbage. With
 * the young generation capped (service/young-generation.ts), slabs live through two scavenges and
 * are promoted, so their native memory waits for a full collection: measured with heaptrack, ~38
 * of the 63 MB malloc heap at peak in bench workloads (b) + (d) were such slabs, all from the
 * concats here. A buffer of its own dies with the write it was made for. (V8 then lets its own
 * heap grow by about as much, so RSS fell only ~8 MB: bench/README.md.)
 */
export function concatUnpooled(parts: readonly Buffer[], total: number): Buffer {
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

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
    body.once('end', () => resolve(concatUnpooled(parts, size)));
    body.once('error', reject);
  });
}

/** The client stopped reading for longer than the stall timeout. */
export class StallError extends Error {}

/** Gathered chunks are written at once past this many bytes instead of waiting for the tick to end. */
const COALESCE_MAX_BYTES = 64 * 1024;

/** Copies the upstream body to the client and ends the response, pausing the upstream while the client's buffer is full. */
export function pump(body: Readable, res: ServerResponse, onChunk: (chunk: Buffer) => void, stallMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stallTimer: NodeJS.Timeout | undefined;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let flushQueued = false;
    let done = false;
    const cleanup = (): void => {
      done = true;
      clearTimeout(stallTimer);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      res.off('drain', onDrain);
      res.off('close', onClose);
    };
    /** The chunks gathered so far as one buffer (null when none), and the gathering reset. */
    const take = (): Buffer | null => {
      if (pending.length === 0) return null;
      const out = pending.length === 1 ? (pending[0] as Buffer) : concatUnpooled(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return out;
    };
    const flush = (): void => {
      flushQueued = false;
      if (done) return;
      const out = take();
      if (out === null) return;
      if (!res.write(out) && stallTimer === undefined) {
        body.pause();
        stallTimer = setTimeout(() => {
          cleanup();
          reject(new StallError('client stopped reading'));
        }, stallMs);
        res.once('drain', onDrain);
      }
    };
    const onData = (chunk: Buffer): void => {
      onChunk(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= COALESCE_MAX_BYTES) flush();
      else if (!flushQueued) {
        flushQueued = true;
        setImmediate(flush);
      }
    };
    const onDrain = (): void => {
      clearTimeout(stallTimer);
      stallTimer = undefined;
      body.resume();
    };
    const onEnd = (): void => {
      // The last chunks go out with end(): with the chunked terminator in one TLS record, and
      // held with it while the answer's end waits for its audit line (server/hold-end.ts).
      const last = done ? null : take();
      cleanup();
      if (last === null) res.end();
      else res.end(last);
      resolve();
    };
    const onError = (err: Error): void => {
      // what arrived before the upstream broke still goes out (an error line may follow it)
      flush();
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
