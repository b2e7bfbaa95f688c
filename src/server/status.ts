// The status object: `warden status --json`, GET /_warden/api/status and the UI's status page
// all show exactly this (docs/design.md §7).
import { WARDEN_VERSION } from '../version.ts';
import type { Config } from '../config/schema.ts';
import type { TlsManager } from '../tls/manager.ts';
import type { Upstreams } from '../proxy/upstreams.ts';
import type { ConnectionTracker } from './connections.ts';
import type { StoreView } from './store-freshness.ts';

export interface StatusObject {
  source: 'server' | 'offline';
  version: string;
  listen: string;
  url: string | null;
  tls: Record<string, unknown> & { enabled: boolean; mode: string; minVersion: string; clientAuth: string; certificate: Record<string, unknown> | null };
  upstream: { url: string; reachable: boolean; version: string | null; upstreams: unknown[] };
  keys: { active: number; revoked: number; expired: number };
  connections: { live: number };
  /** Whether the key store answers; null when not known (offline status). */
  store: StoreView | null;
  startedAt: string | null;
}

export interface StatusInputs {
  config: Config;
  tls: TlsManager | null;
  upstreams: Upstreams;
  keys: { counts(): { active: number; revoked: number; expired: number } };
  connections: ConnectionTracker | null;
  startedAt: Date | null;
  source: 'server' | 'offline';
  url?: string | null;
  /** the address actually bound (port 0 resolved), when listening */
  boundListen?: string | null;
  /** offline: certificate details read from disk */
  tlsOffline?: Record<string, unknown> | null;
  /** the running server's view of its store */
  store?: StoreView | null;
}

export async function buildStatus(i: StatusInputs): Promise<StatusObject> {
  const probes = await i.upstreams.probe();
  const first = probes[0];
  const tlsStatus = i.tls ? (i.tls.status() as unknown as Record<string, unknown>) : (i.tlsOffline ?? null);
  const enabled = i.config.tls.mode !== 'off';
  return {
    source: i.source,
    version: WARDEN_VERSION,
    listen: i.boundListen ?? i.config.listen,
    url: i.url ?? null,
    tls: {
      ...(tlsStatus ?? {}),
      enabled,
      mode: i.config.tls.mode,
      minVersion: i.config.tls.minVersion,
      clientAuth: i.config.tls.clientAuth,
      certificate: ((tlsStatus?.certificate as Record<string, unknown> | undefined) ?? null),
    },
    upstream: {
      url: first?.url ?? i.config.upstream,
      reachable: first?.reachable ?? false,
      version: first?.version ?? null,
      upstreams: probes,
    },
    keys: i.keys.counts(),
    connections: { live: i.connections?.size ?? 0 },
    store: i.store ?? null,
    startedAt: i.startedAt?.toISOString() ?? null,
  };
}
