// HTTP-01 responder (RFC 8555 §8.3): a plain-HTTP listener of its own on tls.acme.httpPort that
// answers only GET /.well-known/acme-challenge/<token> with the key authorization, and 404 to
// everything else. It never proxies and never serves the API: the API is TLS-only.
import type { Server } from 'node:http';
import { http } from '../node-http.ts';
import type { AddressInfo } from 'node:net';
import { tlsError } from './files.ts';

const PREFIX = '/.well-known/acme-challenge/';

export interface Http01Responder {
  readonly port: number;
  set(token: string, keyAuthorization: string): void;
  delete(token: string): void;
  close(): Promise<void>;
}

export async function startHttp01Responder(port: number, host: string): Promise<Http01Responder> {
  const tokens = new Map<string, string>();
  const server: Server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const token = req.method === 'GET' && url.startsWith(PREFIX) ? url.slice(PREFIX.length) : '';
    const answer = /^[A-Za-z0-9_-]+$/.test(token) ? tokens.get(token) : undefined;
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(answer);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        tlsError(
          `ACME HTTP-01 listener cannot bind ${host}:${port}: ${err.code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : err.code === 'EADDRINUSE' ? 'port already in use' : (err.code ?? err.message)}`,
          err,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    set: (t, k) => void tokens.set(t, k),
    delete: (t) => void tokens.delete(t),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
