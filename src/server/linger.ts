// Answering before the request body is in (413 too large, 503 over the body budget) and then
// closing at once makes the kernel reset the connection on the bytes still arriving, and the
// reset can reach the client before it has read the answer: undici (ollama-js, openai-node)
// reports "fetch failed"/EPIPE with no status at all. So, as nginx does with
// lingering_close, the rest of the body is read and thrown away — nothing is kept — for a bounded
// time and number of bytes; past either bound the connection is cut, by then long after the
// client could read the answer. A body read to its end leaves a usable keep-alive connection.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** nginx's lingering_time. */
const LINGER_MAX_MS = 30_000;
/** nginx's lingering_timeout is 5 s; a client still uploading sends far more often than this,
 *  and one that sends nothing (it never meant to send the body) is not waited for. */
const LINGER_IDLE_MS = 2_000;
/** More than any client sends after it has an answer in hand; bounds the bandwidth a refusal costs. */
const LINGER_MAX_BYTES = 256 * 1024 * 1024;

/** Call before answering a request whose body is still arriving: once the answer is out, the
 *  rest of the body is read and discarded within the bounds, then the connection is cut. */
export function lingerAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || req.destroyed) return;
  res.once('finish', () => {
    if (req.complete || req.destroyed) return;
    const socket = req.socket;
    let bytes = 0;
    const stop = (): void => {
      clearTimeout(timer);
      clearTimeout(idle);
    };
    const cut = (): void => {
      stop();
      socket.destroy();
    };
    const timer = setTimeout(cut, LINGER_MAX_MS).unref();
    let idle = setTimeout(cut, LINGER_IDLE_MS).unref();
    // Node's own dump of an unread body (on 'finish') has run by now; this listener only counts.
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > LINGER_MAX_BYTES) return cut();
      clearTimeout(idle);
      idle = setTimeout(cut, LINGER_IDLE_MS).unref();
    });
    req.once('end', stop);
    req.once('close', stop);
    req.resume();
  });
}
