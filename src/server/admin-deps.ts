// The running server's side of the admin API contract (src/admin/deps.ts): real key service,
// certificate authority, connection table, request counter, settings writer (live-settings.ts)
// and reload (reload.ts).
import type { Config, RuntimeFlags } from '../config/schema.ts';
import type { ConfigFlags } from '../config/load.ts';
import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/types.ts';
import type { KeyCache } from '../auth/key-cache.ts';
import type { KeyService } from '../auth/key-service.ts';
import { authenticate, mayBeNewCredential } from '../auth/authenticate.ts';
import { isWardenError } from '../errors.ts';
import type { TlsManager } from '../tls/manager.ts';
import { ClientCertService } from '../tls/cert-service.ts';
import { tlsDir } from '../config/paths.ts';
import { loadLocalCa } from '../tls/local-ca.ts';
import type { AuditLog } from '../audit/writer.ts';
import type { AdminDeps, ConnectionInfo } from '../admin/deps.ts';
import type { ConnectionInfo as OpenConnection, ConnectionTracker } from './connections.ts';
import type { RequestRate } from './request-rate.ts';
import type { StatusObject } from './status.ts';
import type { Lockout } from '../auth/lockout.ts';
import { liveSettings } from './live-settings.ts';
import { reloadNow } from './reload.ts';

export interface AdminDepsInput {
  config: Config;
  configFile: string;
  dataDir: string;
  store: Store;
  keys: KeyCache;
  keyService: KeyService;
  tls: TlsManager | null;
  connections: ConnectionTracker;
  rate: RequestRate;
  status: () => Promise<StatusObject>;
  audit: AuditLog;
  /** The per-run token in <data>/run/admin-token for CLI commands on this machine. */
  localToken: string | null;
  /** The command-line flags the server started with: they still win over the file, and decide
   *  whether a setting could start (plain HTTP needs --insecure-http). */
  configFlags?: ConfigFlags;
  runtimeFlags?: RuntimeFlags;
  /** the gateway's failed-authentication lockout (`warden lockout list|clear`) */
  lockout: Lockout;
}

export function buildAdminDeps(i: AdminDepsInput): AdminDeps {
  return {
    store: i.store,
    lockouts: {
      list: () => i.lockout.list(),
      clear: (address) => i.lockout.clear(address),
    },
    isLocalToken: (raw) => isLocalToken(i.localToken, raw),
    authenticateKey: (rawKey) => authenticateAdminKey(i.keys, rawKey),
    keys: keyActions(i.keys, i.keyService),
    certs: certActions(i),
    status: () => i.status(),
    connections: () => i.connections.list().map(connectionRow),
    requestRate: () => i.rate.series(),
    settings: liveSettings(i),
    audit: (event) => i.audit.write(event),
    reload: async () => ({ reloaded: await reloadNow(i.keys, i.tls, i.audit, 'admin-api') }),
  };
}

function isLocalToken(localToken: string | null, raw: string): boolean {
  if (!localToken) return false;
  const a = Buffer.from(raw);
  const b = Buffer.from(localToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function authenticateAdminKey(keys: KeyCache, rawKey: string): ReturnType<AdminDeps['authenticateKey']> {
  const check = () => authenticate({ kind: 'key', key: rawKey, method: 'bearer' }, { certFingerprint: null }, { keys });
  let r = check();
  // A key created or rotated a moment ago by the CLI or another instance: as on the proxy
  // path, ask the store once before refusing it.
  if (isWardenError(r) && mayBeNewCredential(r) && (await keys.refreshIfStale())) r = check();
  return isWardenError(r) ? null : r.key.record;
}

/** A change made through this server is applied to its own cache before the answer goes out,
 *  so the very next request sees it (other instances see it within 1 s by polling). */
function keyActions(keys: KeyCache, keyService: KeyService): AdminDeps['keys'] {
  const fresh = async <T>(p: Promise<T>): Promise<T> => {
    const result = await p;
    await keys.refresh(false);
    return result;
  };
  return {
    create: (input, actor) => fresh(keyService.create(input, actor)),
    rotate: (id, grace, actor) => fresh(keyService.rotate(id, grace, actor)),
    update: (id, patch, actor) => fresh(keyService.update(id, patch, actor)),
    revoke: (id, actor) => fresh(keyService.revoke(id, actor)),
    delete: (id, actor) => fresh(keyService.delete(id, actor)),
  };
}

function certActions(i: AdminDepsInput): AdminDeps['certs'] {
  const certs = new ClientCertService({ tlsDir: tlsDir(i.dataDir), store: i.store.clientCerts, audit: (e) => i.audit.write(e) });
  return {
    async issue(name, days, actor) {
      // No outDir: the key and bundle exist only in this answer (docs/admin-api.md).
      const issued = await certs.issue({ name, days }, actor);
      return {
        record: issued.record,
        bundle: issued.p12,
        password: issued.p12Password,
        certPem: issued.certPem,
        keyPem: issued.keyPem,
      };
    },
    list: () => i.store.clientCerts.list(),
    ca() {
      const ca = loadLocalCa(tlsDir(i.dataDir));
      return ca ? { pem: ca.certPem, fingerprint256: ca.fingerprint256, subject: ca.subject, notAfter: ca.notAfter } : null;
    },
    async revoke(nameOrSerial, actor) {
      const rec = await certs.revoke(nameOrSerial, actor);
      await i.keys.refresh(false); // re-checks open connections against the new CRL at once
      return rec;
    },
  };
}

function connectionRow(c: OpenConnection): ConnectionInfo {
  return {
    address: c.address.includes(':') ? `[${c.address}]:${c.port}` : `${c.address}:${c.port}`,
    keyId: c.keyId,
    tlsVersion: c.tlsVersion,
    cipher: c.cipher,
    clientCertSubject: c.clientCertSubject,
    openStreams: c.openStreams,
    since: new Date(c.since),
  };
}
