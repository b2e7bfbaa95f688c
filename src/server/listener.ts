// The listener (docs/design.md §1, step 1): Node's own https.Server (http.Server with
// --insecure-http) with its header, keep-alive and idle timeouts; the TLS handshake's handlers
// (the client certificate's verdict, a renewed certificate swapped in, failed handshakes); the
// per-address connection cap; and binding the listen address.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse, Server as HttpServer, ServerOptions as HttpServerOptions } from 'node:http';
import { http } from '../node-http.ts';
import type { Socket } from 'node:net';
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { ErrorCode, WardenError } from '../errors.ts';
import type { AuditLog } from '../audit/writer.ts';
import type { TlsManager } from '../tls/manager.ts';
import { clientCertVerdict } from '../tls/client-audit.ts';
import type { ConnectionTracker } from './connections.ts';
import { answerPlainHttp } from './plain-http.ts';
import { answerParseErrors, refuseTunnels } from './socket-refusals.ts';
import type { ListenAddress } from './listen.ts';

export type Listener = HttpsServer | HttpServer;

export interface ListenerParts {
  config: Config;
  tls: TlsManager | null;
  connections: ConnectionTracker;
  audit: AuditLog;
  log: Logger;
}

/** Where the listener is, once bound (port 0 resolved). */
export interface BoundAddress {
  /** host:port, IPv6 hosts in brackets */
  listen: string;
  url: string;
  port: number;
}

export function createListener(p: ListenerParts, handler: (req: IncomingMessage, res: ServerResponse) => void): Listener {
  const { config, tls, connections, audit } = p;
  const server = tls ? createTlsListener(p, tls, handler) : http.createServer(timeouts(config), handler);
  // A client that goes silent while sending its request; forward.ts lifts it once the request
  // is in (the answer's own limits are limits.answer*).
  server.timeout = config.limits.idleTimeoutSeconds * 1000;
  // Node keeps only the first maxHeadersCount header lines and drops the rest without a word;
  // one more than the limit lets strict.ts see that the limit was passed and answer 431.
  server.maxHeadersCount = config.limits.maxHeaders + 1;
  server.on('connection', (socket: Socket) => {
    // Over HTTPS the TLS socket is tracked once its handshake is done (connections.secured).
    if (!tls) connections.track(socket);
    if (!connections.admit(socket)) {
      audit.write({ kind: 'connection.refused', clientAddress: socket.remoteAddress ?? null, reason: 'too many connections from this address' });
      socket.destroy();
    }
  });
  // CONNECT and Upgrade never reach the request handler; refuse them here (docs/design.md §3).
  server.on('connect', refuseTunnels(audit));
  server.on('upgrade', refuseTunnels(audit));
  server.on('clientError', answerParseErrors(audit));
  return server;
}

function timeouts(config: Config): HttpServerOptions {
  return {
    maxHeaderSize: config.limits.maxHeaderBytes,
    headersTimeout: config.limits.headersTimeoutSeconds * 1000,
    // Whole-request timeouts would kill long blob uploads; bodies have their own timer
    // (server/body.ts) and idle sockets the inactivity timeout (server.timeout).
    requestTimeout: 0,
    keepAliveTimeout: config.limits.keepAliveTimeoutSeconds * 1000,
    // Node enforces headersTimeout only when it sweeps its connection list, every
    // connectionsCheckingInterval (30 s by default): slowloris sockets then lived ~40 s. Swept
    // every second, a connection that stops sending its headers (or never sends a request after
    // the handshake) is gone within headersTimeoutSeconds + 1 s (the
    // slow-clients test holds 150 of them to 12 s).
    connectionsCheckingInterval: 1000,
  };
}

function createTlsListener(p: ListenerParts, tls: TlsManager, handler: (req: IncomingMessage, res: ServerResponse) => void): HttpsServer {
  const { config, connections, audit, log } = p;
  const server = createHttpsServer({ ...timeouts(config), ...tls.serverOptions(), handshakeTimeout: 10_000 }, handler);
  tls.onChange((ctx: SecureContextOptions) => {
    server.setSecureContext(ctx);
    log.info('TLS certificate reloaded');
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    let subject: string | null = null;
    if (config.tls.clientAuth !== 'off') {
      const verdict = clientCertVerdict(config.tls.clientAuth, tls.checkClientCert(socket));
      if (verdict.allowed) subject = verdict.subject;
      else {
        audit.write({ kind: 'tls.client_cert_refused', clientAddress: socket.remoteAddress ?? null, tlsVersion: socket.getProtocol() ?? null, clientCertSubject: verdict.subject, reason: verdict.reason });
        if (config.tls.clientAuth === 'require') socket.destroy();
      }
    }
    connections.secured(socket, subject);
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    log.debug({ code: err.code, address: socket.remoteAddress }, 'TLS handshake failed');
    if (answerPlainHttp(err, socket)) return;
    // Node reports a handshake timeout here but leaves the socket open: a client that never
    // sends its ClientHello (slowloris at the TLS layer) would hold its slot for ever.
    socket.destroy();
  });
  return server;
}

/** Binds the listen address. A port in use or an address this machine does not have stops
 *  start-up with a message naming the `listen` field. */
export async function bindListener(server: Listener, config: Config, listen: ListenAddress, proto: 'https' | 'http'): Promise<BoundAddress> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new WardenError(ErrorCode.CONFIG_INVALID, `config: listen: cannot listen on ${config.listen} (${err.code ?? err.message})`, { cause: err, field: 'listen' }));
    });
    server.listen({ host: listen.host, port: listen.port }, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listen.port;
  const shownHost = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { listen: `${shownHost}:${port}`, url: `${proto}://${shownHost}:${port}`, port };
}
