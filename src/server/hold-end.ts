// The audit line of an answered request is written before the client can see the answer's end
// (kill -9 right after the answers lost the last events). The proxy path learns the
// numbers for the audit event (status, bytes, tokens) only as the response ends, so its last
// bytes are held until the line is written, then released: the write that completes a
// Content-Length answer corks the socket (the client has it all then, before any end()), and
// end() itself is deferred to the release (Node's end() fully uncorks the socket, and writes a
// chunked answer's terminator). Held for microseconds; earlier chunks are not affected.
import type { ServerResponse } from 'node:http';

/** The answer's Content-Length: set with setHeader, or only in the object given to writeHead
 *  (then Node keeps it in the header block it wrote, not in getHeader()). */
function contentLength(res: ServerResponse): number | null {
  const v = res.getHeader('content-length') ?? /\r\ncontent-length:[ \t]*(\d+)/i.exec((res as unknown as { _header?: string | null })._header ?? '')?.[1];
  const n = Number(v);
  return v === undefined || !Number.isFinite(n) ? null : n;
}

/** Holds the response's last write until the returned function is called (always call it). */
export function holdEnd(res: ServerResponse): () => void {
  const socket = res.socket;
  if (!socket) return () => undefined;
  let corked = false;
  let written = 0;
  // Looked up once, at the first write (the head is fixed by then).
  let length: number | null | undefined;
  const cork = (): void => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
    }
  };
  const { write, end } = res;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (!corked && (typeof chunk === 'string' || Buffer.isBuffer(chunk))) {
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
    if (endArgs !== null) (end as (...a: unknown[]) => ServerResponse).apply(res, endArgs);
    if (corked) {
      corked = false;
      socket.uncork();
    }
  };
}
