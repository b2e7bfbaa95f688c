// Start-up: validate and build everything once (store, key cache, TLS context, route table,
// upstream pool, admin app), then open the listener. The returned handle stops it all cleanly.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { http } from '../node-http.ts';
import type { Socket } from 'node:net';
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config, RuntimeFlags } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { KeyCache } from '../auth/key-cache.ts';
import { KeyService } from '../auth/key-service.ts';
import { createReplayCache } from '../auth/replay-cache.ts';
import { createLockout, type Lockout } from '../auth/lockout.ts';
import { compileRoutes } from '../policy/routes.ts';
import { createLimiter, type Limiter } from '../policy/limits.ts';
import { compileCaps } from '../policy/caps.ts';
import { createUpstreams } from '../proxy/upstreams.ts';
import { AuditLog } from '../audit/writer.ts';
import { createTlsManager, type TlsManager } from '../tls/manager.ts';
import { clientCertVerdict } from '../tls/client-audit.ts';
import { ConnectionTracker } from './connections.ts';
import { markRefused, wasRefused } from './strict.ts';
import { answerPlainHttp } from './plain-http.ts';
import { createGateway } from './gateway.ts';
import { ActiveStreams } from './active-streams.ts';
import { checkListenSafety, parseListen } from './listen.ts';
import { buildAdminDeps } from './admin-deps.ts';
import { lazyAdmin } from './lazy-admin.ts';
import { RequestRate } from './request-rate.ts';
import { Metrics } from './metrics.ts';
import { buildStatus, type StatusObject } from './status.ts';
import type { ConfigFlags } from '../config/load.ts';
import { storeFreshness } from './store-freshness.ts';

export interface ServerOptions {
  config: Config;
  dataDir: string;
  configFile: string;
  flags: RuntimeFlags;
  /** The config flags `serve` was given (they win over warden.yaml, also for settings changes). */
  configFlags?: ConfigFlags;
  log: Logger;
}

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  status(): Promise<StatusObject>;
  /** Re-reads keys and client-certificate revocations now (`warden reload`, SIGHUP). */
  reload(actor: string): Promise<string[]>;
  close(graceMs?: number): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { config, dataDir, log, flags } = opts;
  const listen = parseListen(config.listen);
  checkListenSafety(config, listen, flags);
  const proto: 'https' | 'http' = config.tls.mode === 'off' ? 'http' : 'https';

  const store = await openStore({ url: config.store.url, dataDir });
  const closers: Array<() => Promise<void>> = [() => store.close()];
  // One line when the store goes away and one when it is back, not one per failure.
  store.health.onChange((reachable, info) => {
    if (reachable) log.info({ downForSeconds: Math.round(info.downForMs / 100) / 10 }, 'store reachable again');
    else log.error({ error: info.error }, 'store unreachable; serving from the key cache for at most store.maxStaleSeconds, then refusing requests (503)');
  });
  // Store outages are reported by the health line above; anything else is logged as it comes.
  const logUnlessOutage = (what: string) => (err: unknown): void => {
    // A full disk is said once by the audit writer and the reserve below, not every few seconds.
    if (isWardenError(err) && (err.code === ErrorCode.STORE_UNAVAILABLE || err.code === ErrorCode.DISK_FULL)) return;
    log.error({ err }, what);
  };
  // The space a revocation may use on a full disk (store/disk-reserve.ts): put back whenever
  // there is room again.
  const reserve = store.diskReserve;
  if (reserve) {
    let held = reserve.ensure();
    if (!held) log.warn('disk full: cannot keep the store\'s reserve for revocations until space is freed');
    const timer = setInterval(() => {
      const now = reserve.ensure();
      if (now && !held) log.info('disk space back: the store\'s reserve for revocations is in place again');
      held = now;
    }, 5000).unref();
    closers.unshift(async () => clearInterval(timer));
  }
  try {
    const audit = new AuditLog({
      enabled: config.audit.enabled,
      file: resolveDataPath(dataDir, config.audit.file),
      maxBytes: config.audit.maxBytes,
      keep: config.audit.keep,
      repo: store.audit,
      // One line when a sink starts failing and one when it is back; store outages
      // already have their own line from the store's health.
      onError: (err, sink) => {
        if (sink === 'store' && isWardenError(err) && err.code === ErrorCode.STORE_UNAVAILABLE) return;
        const code = (err as { code?: unknown }).code;
        const full = code === 'ENOSPC' || code === 'EDQUOT' || /SQLITE_FULL|database or disk is full/i.test(String(err));
        log.error({ err, sink }, full ? `audit ${sink}: disk full; holding events in memory (bounded) and retrying with backoff` : `audit ${sink} write failed; holding events and retrying with backoff`);
      },
      onRecovered: (sink, info) => log.info({ sink, failedForSeconds: Math.round(info.failedForMs / 100) / 10 }, `audit ${sink} writable again; held events written`),
    });
    closers.unshift(() => audit.close());
    // The store keeps audit.storeDays of events for the UI; older ones are pruned hourly.
    const prune = (): void => {
      store.audit.prune(new Date(Date.now() - config.audit.storeDays * 86_400_000)).catch((err: unknown) => log.error({ err }, 'audit prune failed'));
    };
    prune();
    const pruneTimer = setInterval(prune, 3_600_000).unref();
    closers.unshift(async () => clearInterval(pruneTimer));

    const streams = new ActiveStreams();
    let tls: TlsManager | null = null;
    const connections = new ConnectionTracker(config.limits.maxConnectionsPerAddress);
    const keys = new KeyCache(store, {
      onError: logUnlessOutage('key cache refresh failed'),
      onInvalidated: (ids) => {
        const n = streams.cut(ids, 'key revoked');
        if (n > 0) log.info({ streams: n }, 'cut streams of revoked, expired or deleted keys');
      },
      onReload: () => void refreshCertRevocations(),
    });
    await keys.start();
    closers.unshift(() => keys.stop());

    async function refreshCertRevocations(): Promise<void> {
      if (!tls || config.tls.clientAuth === 'off') return;
      try {
        await tls.refreshRevocations();
        // Connections opened before the revocation are checked again and cut.
        for (const c of connections.all()) {
          const verdict = clientCertVerdict(config.tls.clientAuth, tls.checkClientCert(c.socket as TLSSocket));
          if (!verdict.allowed) {
            audit.write({ kind: 'tls.client_cert_refused', clientAddress: c.address, clientCertSubject: verdict.subject, reason: `${verdict.reason}; open connection closed` });
            c.socket.destroy();
          }
        }
      } catch (err) {
        log.error({ err }, 'refreshing client certificate revocations failed');
      }
    }

    if (proto === 'https') {
      tls = await createTlsManager({
        config,
        dataDir,
        clientCerts: store.clientCerts,
        log: (level, msg, fields) => log[level]({ ...fields }, msg),
      });
      const t = tls;
      closers.unshift(() => t.close());
    }

    const upstreams = createUpstreams(config.upstreams.length > 0 ? config.upstreams : [config.upstream], {});
    closers.unshift(() => upstreams.close());

    const keyService = new KeyService(store, (e) => audit.write(e));
    const rate = new RequestRate();
    const startedAt = new Date();
    let bound: { listen: string; url: string } | null = null;
    const status = (): Promise<StatusObject> =>
      buildStatus({ config, tls, upstreams, keys, connections, startedAt, source: 'server', boundListen: bound?.listen ?? null, url: bound?.url ?? null, store: storeFreshness(keys, store.health, config.store.maxStaleSeconds * 1000).view });

    // A per-run token that lets CLI commands on this machine (status, reload) use the admin API;
    // the file is readable by the data dir's owner only.
    const localToken = randomBytes(32).toString('base64url');
    mkdirSync(join(dataDir, 'run'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'run', 'admin-token'), localToken, { mode: 0o600 });
    closers.push(async () => rmSync(join(dataDir, 'run', 'admin-token'), { force: true }));

    // Several instances on one PostgreSQL store share each key's rpm, tpm and concurrency there
    // (docs/deploy.md); with SQLite there is one instance and the limits stay in memory, unchanged.
    // The failed-authentication lockout likewise: counted in memory, synced through the store.
    // One lockout table: the gateway counts failures in it, `warden lockout list|clear` reads it.
    const lockoutOptions = {
      failures: config.security.lockoutFailures,
      windowSeconds: config.security.lockoutWindowSeconds,
      lockoutSeconds: config.security.lockoutSeconds,
      tarpitBurst: config.security.lockoutTarpitBurst,
    };
    let limiter: Limiter = createLimiter();
    let lockout: Lockout = createLockout(lockoutOptions);
    if (/^postgres(ql)?:\/\//i.test(config.store.url)) {
      const [{ guardedPool }, { createFleetLimiter }, { createFleetLockout }] = await Promise.all([
        import('../store/postgres/guarded-pool.ts'),
        import('../policy/fleet-limits.ts'),
        import('../auth/fleet-lockout.ts'),
      ]);
      const pool = guardedPool({ url: config.store.url, max: 4, queryDeadlineMs: 2_000, connectTimeoutMs: 1_000, onOutcome: () => {} }).pg;
      const fleetLog = (msg: string, err?: unknown): void => (err === undefined ? log.info(msg) : log.warn({ err }, msg));
      const fleet = await createFleetLimiter(pool, createLimiter(), fleetLog);
      const fleetLockout = await createFleetLockout(pool, lockout, lockoutOptions, fleetLog);
      limiter = fleet;
      lockout = fleetLockout;
      closers.unshift(async () => {
        await fleet.close();
        await fleetLockout.close().catch(() => undefined);
        await pool.end();
      });
    }
    const admin = lazyAdmin(
      buildAdminDeps({ config, configFile: opts.configFile, dataDir, store, keys, keyService, tls, connections, rate, status, audit, localToken, configFlags: opts.configFlags ?? {}, runtimeFlags: opts.flags, lockout }),
      (err) => log.error({ err }, 'admin app failed to start'),
    );
    closers.unshift(() => admin.close());

    const handler = createGateway(
      {
        config,
        proto,
        keys,
        // docs/design.md §3: an exact replay inside the ±300 s window is
        // refused. The CLI's Ed25519 signature over METHOD,PATH?ts=SECONDS is deterministic, so a
        // client repeating the very same call within one second is refused too (README).
        replay: createReplayCache({ store: store.usedSignatures, onError: (err) => log.error({ err }, 'pruning used ollama signatures failed') }),
        routes: compileRoutes(config.policy),
        lockout,
        limiter,
        caps: compileCaps(config.caps),
        upstreams,
        audit,
        tls,
        connections,
        admin: admin.handle,
        log,
        onRequest: () => rate.hit(),
        storeHealth: store.health,
        metrics: new Metrics({ connections: () => connections.size, keys: () => keys.counts(), upstreams: () => upstreams.list, audit: () => audit.stats() }),
      },
      streams,
    );

    const common = {
      maxHeaderSize: config.limits.maxHeaderBytes,
      headersTimeout: config.limits.headersTimeoutSeconds * 1000,
      // Whole-request timeouts would kill long blob uploads; bodies have their own timer
      // (server/body.ts) and idle sockets the inactivity timeout below.
      requestTimeout: 0,
      keepAliveTimeout: config.limits.keepAliveTimeoutSeconds * 1000,
      // Node enforces headersTimeout only when it sweeps its connection list, every
      // connectionsCheckingInterval (30 s by default): slowloris sockets then lived ~40 s. Swept
      // every second, a connection that stops sending its headers (or never sends a request after
      // the handshake) is gone within headersTimeoutSeconds + 1 s (the
      // slow-clients test holds 150 of them to 12 s).
      connectionsCheckingInterval: 1000,
    };
    let server: HttpsServer | HttpServer;
    if (tls) {
      server = createHttpsServer({ ...common, ...tls.serverOptions(), handshakeTimeout: 10_000 }, handler);
      const s = server as HttpsServer;
      tls.onChange((ctx: SecureContextOptions) => {
        s.setSecureContext(ctx);
        log.info('TLS certificate reloaded');
      });
      s.on('secureConnection', (socket: TLSSocket) => {
        let subject: string | null = null;
        if (config.tls.clientAuth !== 'off' && tls) {
          const verdict = clientCertVerdict(config.tls.clientAuth, tls.checkClientCert(socket));
          if (verdict.allowed) subject = verdict.subject;
          else {
            audit.write({ kind: 'tls.client_cert_refused', clientAddress: socket.remoteAddress ?? null, tlsVersion: socket.getProtocol() ?? null, clientCertSubject: verdict.subject, reason: verdict.reason });
            if (config.tls.clientAuth === 'require') socket.destroy();
          }
        }
        connections.secured(socket, subject);
      });
      s.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        log.debug({ code: err.code, address: socket.remoteAddress }, 'TLS handshake failed');
        if (answerPlainHttp(err, socket)) return;
        // Node reports a handshake timeout here but leaves the socket open: a client that never
        // sends its ClientHello (slowloris at the TLS layer) would hold its slot for ever.
        socket.destroy();
      });
    } else {
      server = http.createServer(common, handler);
    }
    // A client that goes silent while sending its request; forward.ts lifts it once the request
    // is in (the answer's own limits are limits.answer*).
    server.timeout = config.limits.idleTimeoutSeconds * 1000;
    // Node keeps only the first maxHeadersCount header lines and drops the rest without a word;
    // one more than the limit lets strict.ts see that the limit was passed and answer 431.
    server.maxHeadersCount = config.limits.maxHeaders + 1;
    const acceptSocket = (socket: Socket): void => {
      if (!tls) connections.track(socket);
      if (!connections.admit(socket)) {
        audit.write({ kind: 'connection.refused', clientAddress: socket.remoteAddress ?? null, reason: 'too many connections from this address' });
        socket.destroy();
      }
    };
    server.on('connection', acceptSocket);
    // CONNECT and Upgrade never reach the request handler; refuse them here (docs/design.md §3).
    const refuseRaw = (req: IncomingMessage, socket: Socket): void => {
      audit.write({ kind: 'request', clientAddress: socket.remoteAddress ?? null, method: req.method ?? null, path: (req.url ?? '').slice(0, 200), status: 400, reason: req.method === 'CONNECT' ? 'CONNECT is not allowed' : 'protocol upgrades are not allowed' });
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 25\r\n\r\n{"error":"bad request"}\r\n');
      socket.destroySoon();
    };
    server.on('connect', refuseRaw);
    server.on('upgrade', refuseRaw);
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable || wasRefused(socket)) return socket.destroy();
      markRefused(socket);
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const status = tooLarge ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      const body = tooLarge ? '{"error":"request headers too large"}' : '{"error":"bad request"}';
      audit.write({ kind: 'request', clientAddress: socket.remoteAddress ?? null, status: Number(status.slice(0, 3)), reason: `malformed request (${err.code ?? err.message})` });
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      socket.destroySoon();
    });

    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new WardenError(ErrorCode.CONFIG_INVALID, `config: listen: cannot listen on ${config.listen} (${err.code ?? err.message})`, { cause: err, field: 'listen' }));
      });
      server.listen({ host: listen.host, port: listen.port }, () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : listen.port;
    const shownHost = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    const url = `${proto}://${shownHost}:${port}`;
    bound = { listen: `${shownHost}:${port}`, url };

    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      store,
      status,
      async reload(actor: string): Promise<string[]> {
        const reloaded = ['keys'];
        await keys.refresh(true);
        if (tls) {
          await tls.refreshRevocations();
          reloaded.push('client certificate revocations');
        }
        audit.write({ kind: 'config.reload', actor, reason: reloaded.join(', ') });
        return reloaded;
      },
      close(graceMs = config.server.shutdownGraceSeconds * 1000): Promise<void> {
        closing ??= (async () => {
          server.close();
          server.closeIdleConnections();
          const deadline = Date.now() + graceMs;
          while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          // Streams still running end with an error record saying why (forward.ts), given a moment to leave.
          if (streams.cutAll('Warden is shutting down') > 0) {
            const flushBy = Date.now() + 500;
            while (connections.size > 0 && Date.now() < flushBy) await new Promise((r) => setTimeout(r, 20));
          }
          server.closeAllConnections();
          for (const c of closers) {
            try {
              await c();
            } catch (err) {
              log.error({ err }, 'error during shutdown');
            }
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => undefined);
    throw err;
  }
}
