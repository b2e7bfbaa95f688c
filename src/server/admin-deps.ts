// The running server's side of the admin API contract (src/admin/deps.ts): real key service,
// certificate authority, connection table, request counter and config writer.
import type { Config, RuntimeFlags } from '../config/schema.ts';
import type { ConfigFlags } from '../config/load.ts';
import { changedSettings, writeSettings } from '../admin/settings-file.ts';
import { checkStartable } from './startable.ts';
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
import type { AdminDeps } from '../admin/deps.ts';
import type { ConnectionTracker } from './connections.ts';
import type { RequestRate } from './request-rate.ts';
import type { StatusObject } from './status.ts';
import type { Lockout } from '../auth/lockout.ts';

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
  const fresh = async <T>(p: Promise<T>): Promise<T> => {
    const result = await p;
    await i.keys.refresh(false);
    return result;
  };
  // What the listener, TLS context and upstream pool were built from: "restart needed" is a
  // difference from these, so a setting changed and changed back needs no restart.
  const running = i.config;
  let current = i.config;
  const certs = new ClientCertService({ tlsDir: tlsDir(i.dataDir), store: i.store.clientCerts, audit: (e) => i.audit.write(e) });
  return {
    store: i.store,
    lockouts: {
      list: () => i.lockout.list(),
      clear: (address) => i.lockout.clear(address),
    },
    isLocalToken(raw) {
      if (!i.localToken) return false;
      const a = Buffer.from(raw);
      const b = Buffer.from(i.localToken);
      return a.length === b.length && timingSafeEqual(a, b);
    },
    async authenticateKey(rawKey) {
      const check = () => authenticate({ kind: 'key', key: rawKey, method: 'bearer' }, { certFingerprint: null }, { keys: i.keys });
      let r = check();
      // A key created or rotated a moment ago by the CLI or another instance: as on the proxy
      // path, ask the store once before refusing it.
      if (isWardenError(r) && mayBeNewCredential(r) && (await i.keys.refreshIfStale())) r = check();
      return isWardenError(r) ? null : r.key.record;
    },
    // A change made through this server is applied to its own cache before the answer goes
    // out, so the very next request sees it (other instances see it within 1 s by polling).
    keys: {
      create: (input, actor) => fresh(i.keyService.create(input, actor)),
      rotate: (id, grace, actor) => fresh(i.keyService.rotate(id, grace, actor)),
      update: (id, patch, actor) => fresh(i.keyService.update(id, patch, actor)),
      revoke: (id, actor) => fresh(i.keyService.revoke(id, actor)),
      delete: (id, actor) => fresh(i.keyService.delete(id, actor)),
    },
    certs: {
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
    },
    status: () => i.status(),
    connections: () =>
      i.connections.list().map((c) => ({
        address: c.address.includes(':') ? `[${c.address}]:${c.port}` : `${c.address}:${c.port}`,
        keyId: c.keyId,
        tlsVersion: c.tlsVersion,
        cipher: c.cipher,
        clientCertSubject: c.clientCertSubject,
        openStreams: c.openStreams,
        since: new Date(c.since),
      })),
    requestRate: () => i.rate.series(),
    settings: {
      get: () => current,
      async update(patch, actor) {
        // Written with the YAML document API: comments, order and unrelated keys are kept.
        const next = writeSettings(
          { file: i.configFile, env: process.env, flags: i.configFlags ?? {}, check: (c) => checkStartable(c, i.dataDir, i.runtimeFlags ?? { insecureHttp: false, exposedOk: false }) },
          patch,
        );
        const changed = changedSettings(current, next);
        // Applied at once: the audit switch. The listener, TLS and upstream settings are built
        // into the running listener and pool at start-up, so they take a restart.
        const applied: string[] = changed.filter((f) => f === 'audit.enabled');
        const restartNeeded = changedSettings(running, next).filter((f) => f !== 'audit.enabled');
        // Written before the audit switch moves, so turning the log off is itself recorded.
        i.audit.write({ kind: 'config.change', actor, reason: `changed: ${changed.join(', ') || 'nothing'}; applied now: ${applied.join(', ') || 'none'}` });
        if (applied.includes('audit.enabled')) i.audit.setEnabled(next.audit.enabled);
        current = next;
        return { config: next, restartNeeded };
      },
    },
    audit: (event) => i.audit.write(event),
    async reload() {
      const reloaded = ['keys'];
      await i.keys.refresh(true);
      if (i.tls) {
        await i.tls.refreshRevocations();
        reloaded.push('client certificate revocations');
      }
      i.audit.write({ kind: 'config.reload', actor: 'admin-api', reason: reloaded.join(', ') });
      return { reloaded };
    },
  };
}
