// A plain http:// request on the TLS port. OpenSSL recognises an HTTP request
// line where a ClientHello should be and fails the handshake with ERR_SSL_HTTP_REQUEST; until now
// the socket was simply closed, and curl said "Empty reply from server", ollama-js "other side
// closed". The client gets a short plain-text 400 saying to use https:// instead (Go's
// net/http answers the same way). This costs nothing on the TLS path: it runs only for a
// handshake that has already failed, and no byte of a real TLS connection is looked at.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

const BODY = 'Client sent an HTTP request to an HTTPS server. Use https:// to reach Ollama Warden.\n';
const ANSWER = `HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\nconnection: close\r\n\r\n${BODY}`;

/** Answers a failed handshake that was really plain HTTP; returns false (the caller closes the
 *  socket) for any other handshake failure. */
export function answerPlainHttp(err: Error & { code?: string }, tlsSocket: TLSSocket): boolean {
  if (err.code !== 'ERR_SSL_HTTP_REQUEST') return false;
  // The TCP socket under the failed TLS one: its bytes go out unencrypted. (`_parent` is Node's
  // own link from a server-side TLSSocket to the socket it wraps.)
  const raw = (tlsSocket as unknown as { _parent?: Socket })._parent;
  if (!raw || raw.destroyed || !raw.writable) return false;
  raw.end(ANSWER);
  // A client that never closes its side is not waited for.
  setTimeout(() => raw.destroy(), 2000).unref();
  return true;
}
