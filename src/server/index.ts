// Start-up: validate and build everything once (parts.ts: store, audit log, key cache, TLS
// context, upstream pool, limits; request-handler.ts: the route table and the admin app), then
// open the listener (listener.ts). The returned handle reloads and stops it all cleanly
// (shutdown.ts).
import type { Logger } from 'pino';
import type { Config, RuntimeFlags } from '../config/schema.ts';
import type { ConfigFlags } from '../config/load.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { checkListenSafety, parseListen } from './listen.ts';
import { bindListener, createListener, type BoundAddress, type Listener } from './listener.ts';
import { buildParts, type Parts } from './parts.ts';
import { reloadNow } from './reload.ts';
import { buildRequestHandler } from './request-handler.ts';
import { Closers, drainListener } from './shutdown.ts';
import type { StatusObject } from './status.ts';
import { watchStore } from './store-upkeep.ts';

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

  const store = await openStore({ url: config.store.url, dataDir });
  const closers = new Closers(() => store.close());
  watchStore(store, log, closers);
  try {
    const parts = await buildParts(config, dataDir, store, log, closers);
    const handler = buildRequestHandler({ config, dataDir, configFile: opts.configFile, configFlags: opts.configFlags ?? {}, runtimeFlags: flags, log }, parts, closers);
    const server = createListener({ config, tls: parts.tls, connections: parts.connections, audit: parts.audit, log }, handler);
    parts.bound = await bindListener(server, config, listen, parts.proto);
    return running(opts, parts, server, parts.bound, closers);
  } catch (err) {
    await closers.runQuietly();
    throw err;
  }
}

/** The handle `warden serve` (and the tests) hold: where it listens, reload, and stop. */
function running(opts: ServerOptions, parts: Parts, server: Listener, bound: BoundAddress, closers: Closers): RunningServer {
  const { config, log } = opts;
  let closing: Promise<void> | null = null;
  return {
    url: bound.url,
    port: bound.port,
    store: parts.store,
    status: parts.status,
    reload: (actor) => reloadNow(parts.keys, parts.tls, parts.audit, actor),
    close(graceMs = config.server.shutdownGraceSeconds * 1000): Promise<void> {
      closing ??= (async () => {
        // Held refusals are answered now (connection closed), not waited out.
        parts.tarpit.release();
        await drainListener(server, parts.connections, parts.streams, graceMs);
        await closers.run(log);
      })();
      return closing;
    },
  };
}
