// What the listener calls for each request: the gateway (gateway.ts) over the server's parts,
// with /_warden/* handed to the admin app, which is built on its first request (lazy-admin.ts).
// Everything the request path consults is compiled here, once: routes, caps, the replay cache.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config, RuntimeFlags } from '../config/schema.ts';
import type { ConfigFlags } from '../config/load.ts';
import { createReplayCache } from '../auth/replay-cache.ts';
import { compileRoutes } from '../policy/routes.ts';
import { compileCaps } from '../policy/caps.ts';
import { buildAdminDeps } from './admin-deps.ts';
import { createGateway } from './gateway.ts';
import { lazyAdmin } from './lazy-admin.ts';
import { Metrics } from './metrics.ts';
import type { Parts } from './parts.ts';
import type { Closers } from './shutdown.ts';

export interface HandlerOptions {
  config: Config;
  dataDir: string;
  configFile: string;
  /** the config flags `serve` was given (they win over warden.yaml, also for settings changes) */
  configFlags: ConfigFlags;
  runtimeFlags: RuntimeFlags;
  log: Logger;
}

export function buildRequestHandler(o: HandlerOptions, p: Parts, closers: Closers): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, log } = o;
  const { store, keys, tls, connections, audit, upstreams, rate } = p;
  const admin = lazyAdmin(
    buildAdminDeps({ config, configFile: o.configFile, dataDir: o.dataDir, store, keys, keyService: p.keyService, tls, connections, rate, status: p.status, audit, localToken: p.localToken, configFlags: o.configFlags, runtimeFlags: o.runtimeFlags, lockout: p.lockout }),
    (err) => log.error({ err }, 'admin app failed to start'),
  );
  closers.add(() => admin.close());
  return createGateway(
    {
      config,
      proto: p.proto,
      keys,
      // docs/design.md §3: an exact replay inside the ±300 s window is
      // refused. The CLI's Ed25519 signature over METHOD,PATH?ts=SECONDS is deterministic, so a
      // client repeating the very same call within one second is refused too (README).
      replay: createReplayCache({ store: store.usedSignatures, onError: (err) => log.error({ err }, 'pruning used ollama signatures failed') }),
      routes: compileRoutes(config.policy),
      lockout: p.lockout,
      tarpit: p.tarpit,
      limiter: p.limiter,
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
    p.streams,
  );
}
