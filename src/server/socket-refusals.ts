// Requests that never reach the request handler, answered on the socket itself, audited, and
// the connection closed: CONNECT and protocol upgrades (refused, docs/design.md §3) and what
// Node's HTTP parser rejects (malformed, headers too large, too slow to arrive).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { AuditLog } from '../audit/writer.ts';
import { markRefused, wasRefused } from './strict.ts';

/** The 'connect' and 'upgrade' handler: Warden tunnels nothing and upgrades nothing. */
export function refuseTunnels(audit: AuditLog): (req: IncomingMessage, socket: Socket) => void {
  return (req, socket) => {
    audit.write({ kind: 'request', clientAddress: socket.remoteAddress ?? null, method: req.method ?? null, path: (req.url ?? '').slice(0, 200), status: 400, reason: req.method === 'CONNECT' ? 'CONNECT is not allowed' : 'protocol upgrades are not allowed' });
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 25\r\n\r\n{"error":"bad request"}\r\n');
    socket.destroySoon();
  };
}

/** The 'clientError' handler: 431 for headers past the limit, 408 for a request too slow to
 *  arrive, 400 for the rest; once per connection (one refused already is only closed). */
export function answerParseErrors(audit: AuditLog): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (!socket.writable || wasRefused(socket)) return socket.destroy();
    markRefused(socket);
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    const body = tooLarge ? '{"error":"request headers too large"}' : '{"error":"bad request"}';
    audit.write({ kind: 'request', clientAddress: socket.remoteAddress ?? null, status: Number(status.slice(0, 3)), reason: `malformed request (${err.code ?? err.message})` });
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    socket.destroySoon();
  };
}
