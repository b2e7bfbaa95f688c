// The audit line of an answered request is written before the client can see the answer's end
// (kill -9 right after the answers lost the last events). The proxy path learns the
// numbers for the audit event (status, bytes, tokens) only as the response ends, and the lines
// of one event-loop turn are appended together at its end (audit/writer.ts), so an answer's last
// bytes are held until its line is written, then released: the write that completes a
// Content-Length answer corks the socket (the client has it all then, before any end()), and
// end() itself is deferred to the release (Node's end() fully uncorks the socket, and writes a
// chunked answer's terminator). Held until the end of the event-loop turn; earlier chunks are
// not affected.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The answer's Content-Length: set with setHeader, or only in the object given to writeHead
 *  (then Node keeps it in the header block it wrote, not in getHeader()). */
function contentLength(res: ServerResponse): number | null {
  const v = res.getHeader('content-length') ?? /\r\ncontent-length:[ \t]*(\d+)/i.exec((res as unknown as { _header?: string | null })._header ?? '')?.[1];
  const n = Number(v);
  return v === undefined || !Number.isFinite(n) ? null : n;
}

/** Holds the response's last write until the returned function is called (always call it).
 *  Works before the response has its socket: a request that came in on a keep-alive connection
 *  while the previous answer was still finishing gets the socket only at that finish. */
export function holdEnd(res: ServerResponse): () => void {
  let corked: Socket | null = null;
  let written = 0;
  // Looked up once, at the first write (the head is fixed by then).
  let length: number | null | undefined;
  const corkNow = (socket: Socket): void => {
    if (corked === null && !socket.destroyed) {
      corked = socket;
      socket.cork();
    }
  };
  const cork = (): void => {
    // Without its socket yet, Node keeps the bytes in the response and writes them when the
    // socket is assigned, right after emitting 'socket'.
    if (res.socket) corkNow(res.socket);
    else res.once('socket', corkNow);
  };
  const { write, end } = res;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (corked === null && (typeof chunk === 'string' || Buffer.isBuffer(chunk))) {
      written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      if (length === undefined) length = contentLength(res);
      if (length !== null && written >= length) cork();
    }
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  let endArgs: unknown[] | null = null;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    endArgs ??= args;
    return this;
  } as ServerResponse['end'];
  return () => {
    res.write = write;
    res.end = end;
    res.off('socket', corkNow);
    try {
      if (endArgs !== null) (end as (...a: unknown[]) => ServerResponse).apply(res, endArgs);
    } catch {
      // An answer that cannot be ended is cut: the client sees a reset, never a hang.
      res.destroy();
    }
    if (corked !== null) {
      const socket: Socket = corked;
      corked = null;
      socket.uncork();
    }
  };
}
