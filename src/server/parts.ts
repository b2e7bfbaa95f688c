// The parts the running server is made of, built once at start-up in the order they depend on
// each other: audit log, key cache, TLS, upstream pool, limits. Each part registers how it stops
// as it starts (shutdown.ts), so a failed start-up undoes exactly what was started and a
// shutdown stops the parts in reverse.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/types.ts';
import type { AuditLog } from '../audit/writer.ts';
import type { KeyCache } from '../auth/key-cache.ts';
import { KeyService } from '../auth/key-service.ts';
import type { Lockout } from '../auth/lockout.ts';
import type { Limiter } from '../policy/limits.ts';
import { createUpstreams, type Upstreams } from '../proxy/upstreams.ts';
import { createTlsManager, type TlsManager } from '../tls/manager.ts';
import { ActiveStreams } from './active-streams.ts';
import { openAuditLog } from './audit-log.ts';
import { ConnectionTracker } from './connections.ts';
import type { BoundAddress } from './listener.ts';
import { writeLocalToken } from './local-token.ts';
import { RequestRate } from './request-rate.ts';
import { startKeyCache } from './revocations.ts';
import { buildLimits } from './shared-limits.ts';
import type { Closers } from './shutdown.ts';
import { buildStatus, type StatusObject } from './status.ts';
import { storeFreshness } from './store-freshness.ts';
import { tarpitFor, type Tarpit } from './tarpit.ts';

export interface Parts {
  proto: 'https' | 'http';
  store: Store;
  audit: AuditLog;
  streams: ActiveStreams;
  connections: ConnectionTracker;
  keys: KeyCache;
  keyService: KeyService;
  /** null with --insecure-http */
  tls: TlsManager | null;
  upstreams: Upstreams;
  limiter: Limiter;
  lockout: Lockout;
  /** refusals held back (lockout and flood tarpits); let go at once on shutdown */
  tarpit: Tarpit;
  /** requests per minute, for the UI's chart */
  rate: RequestRate;
  /** the token in <data>/run/admin-token for CLI commands on this machine */
  localToken: string;
  /** Set once the listener is bound. */
  bound: BoundAddress | null;
  status(): Promise<StatusObject>;
}

export async function buildParts(config: Config, dataDir: string, store: Store, log: Logger, closers: Closers): Promise<Parts> {
  const proto = config.tls.mode === 'off' ? 'http' : 'https';
  const audit = openAuditLog(config, dataDir, store, log, closers);
  const streams = new ActiveStreams();
  const connections = new ConnectionTracker(config.limits.maxConnectionsPerAddress);
  let tls: TlsManager | null = null;
  const keys = await startKeyCache(store, { config, streams, connections, audit, log }, () => tls, closers);
  if (proto === 'https') tls = await startTls(config, dataDir, store, log, closers);
  const upstreams = createUpstreams(config.upstreams.length > 0 ? config.upstreams : [config.upstream], {});
  closers.add(() => upstreams.close());
  const keyService = new KeyService(store, (e) => audit.write(e));
  const rate = new RequestRate();
  const startedAt = new Date();
  const localToken = writeLocalToken(dataDir, closers);
  const { limiter, lockout } = await buildLimits(config, log, closers);
  const parts: Parts = {
    proto, store, audit, streams, connections, keys, keyService, tls, upstreams, limiter, lockout, rate, localToken,
    tarpit: tarpitFor(config),
    bound: null,
    status: () =>
      buildStatus({ config, tls, upstreams, keys, connections, startedAt, source: 'server', boundListen: parts.bound?.listen ?? null, url: parts.bound?.url ?? null, store: storeFreshness(keys, store.health, config.store.maxStaleSeconds * 1000).view }),
  };
  return parts;
}

async function startTls(config: Config, dataDir: string, store: Store, log: Logger, closers: Closers): Promise<TlsManager> {
  const tls = await createTlsManager({
    config,
    dataDir,
    clientCerts: store.clientCerts,
    log: (level, msg, fields) => log[level]({ ...fields }, msg),
  });
  closers.add(() => tls.close());
  return tls;
}
