// What the gateway is built from (GatewayDeps) and what it computes from that once, at
// creation (Gateway): every step of the request path reads the same precomputed object, so a
// request costs no setup of its own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { KeyCache } from '../auth/key-cache.ts';
import type { ReplayCache } from '../auth/replay-cache.ts';
import type { AuthenticateDeps } from '../auth/authenticate.ts';
import type { Lockout } from '../auth/lockout.ts';
import { createFloodBrake, type FloodBrake } from '../auth/flood-brake.ts';
import type { RouteTable } from '../policy/routes.ts';
import type { Limiter } from '../policy/limits.ts';
import type { CompiledCaps } from '../policy/caps.ts';
import type { Upstreams } from '../proxy/upstreams.ts';
import type { AuditLog } from '../audit/writer.ts';
import type { TlsManager } from '../tls/manager.ts';
import type { StoreHealth } from '../store/health.ts';
import type { ConnectionTracker } from './connections.ts';
import { normaliseAddress } from './connections.ts';
import type { Metrics } from './metrics.ts';
import type { ActiveStreams } from './active-streams.ts';
import { createBodyBudget, type BodyBudget } from './body-budget.ts';
import { compileCors, type CorsPolicy } from './cors.ts';
import { Tarpit, tarpitFor } from './tarpit.ts';

export interface GatewayDeps {
  config: Config;
  proto: 'https' | 'http';
  keys: KeyCache;
  replay: ReplayCache;
  routes: RouteTable;
  lockout: Lockout;
  /** where refusals wait out their pause; the server releases it on shutdown (built here if absent) */
  tarpit?: Tarpit;
  limiter: Limiter;
  /** memory all JSON bodies in flight may take (limits.bodyMemoryBytes); built from config if absent */
  bodyBudget?: BodyBudget;
  /** caps on num_ctx / num_predict / keep_alive (config `caps`), compiled at start-up */
  caps: CompiledCaps;
  upstreams: Upstreams;
  audit: AuditLog;
  tls: TlsManager | null;
  connections: ConnectionTracker;
  /** Fastify's router for /_warden/* (admin API, UI, metrics). */
  admin: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  log: Logger;
  metrics?: Metrics;
  /** Counts requests for the UI's per-minute chart. */
  onRequest?: () => void;
  /** Whether the store answers (for /_warden/health). */
  storeHealth?: StoreHealth;
}

/** The gateway's dependencies plus everything derived from the configuration at creation. */
export interface Gateway {
  deps: GatewayDeps;
  config: Config;
  streams: ActiveStreams;
  cors: CorsPolicy;
  /** addresses whose X-Forwarded-For is believed (security.trustedProxies), normalised */
  trusted: Set<string>;
  bodyBudget: BodyBudget;
  requestTimeoutMs: number;
  firstByteMs: number;
  maxStaleMs: number;
  /** what authenticate() consults */
  authDeps: AuthenticateDeps;
  /** failures from all addresses together (security.floodTarpitBurst) */
  floodBrake: FloodBrake;
  tarpit: Tarpit;
  /** security.lockoutTarpitMs: the pause of a held refusal; 0 holds none */
  tarpitMs: number;
}

export function compileGateway(deps: GatewayDeps, streams: ActiveStreams): Gateway {
  const { config } = deps;
  return {
    deps,
    config,
    streams,
    requestTimeoutMs: config.limits.requestTimeoutSeconds * 1000,
    cors: compileCors(config.cors.origins),
    firstByteMs: config.limits.upstreamFirstByteSeconds * 1000,
    maxStaleMs: config.store.maxStaleSeconds * 1000,
    trusted: new Set(config.security.trustedProxies.map((a) => normaliseAddress(a))),
    bodyBudget: deps.bodyBudget ?? createBodyBudget(config.limits.bodyMemoryBytes),
    authDeps: { keys: deps.keys },
    floodBrake: createFloodBrake({ burst: config.security.floodTarpitBurst }),
    tarpit: deps.tarpit ?? tarpitFor(config),
    tarpitMs: config.security.lockoutTarpitMs,
  };
}
