// A revocation reaches what is already open (docs/design.md §2, §3): a key revoked, expired or
// deleted has its running streams cut, and a client certificate revoked in the store or on
// tls/crl.pem closes the connections that were opened with it before the revocation.
import type { Logger } from 'pino';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/types.ts';
import { KeyCache } from '../auth/key-cache.ts';
import type { AuditLog } from '../audit/writer.ts';
import type { TlsManager } from '../tls/manager.ts';
import { clientCertVerdict } from '../tls/client-audit.ts';
import type { ConnectionTracker } from './connections.ts';
import type { ActiveStreams } from './active-streams.ts';
import type { Closers } from './shutdown.ts';
import { logUnlessOutage } from './store-upkeep.ts';

/** What is open, and where a cut is written down. */
export interface OpenThings {
  config: Config;
  streams: ActiveStreams;
  connections: ConnectionTracker;
  audit: AuditLog;
  log: Logger;
}

/** Starts the key cache (keys are loaded before this returns). Every reload of the store also
 *  re-reads the client-certificate revocations, once `tls()` has a manager to read them into. */
export async function startKeyCache(store: Store, open: OpenThings, tls: () => TlsManager | null, closers: Closers): Promise<KeyCache> {
  const { streams, log } = open;
  const keys = new KeyCache(store, {
    onError: logUnlessOutage(log, 'key cache refresh failed'),
    onInvalidated: (ids) => {
      const n = streams.cut(ids, 'key revoked');
      if (n > 0) log.info({ streams: n }, 'cut streams of revoked, expired or deleted keys');
    },
    onReload: () => void refreshCertRevocations(open, tls()),
  });
  await keys.start();
  closers.add(() => keys.stop());
  return keys;
}

/** Re-reads the revoked client certificates and closes every open connection whose certificate
 *  is refused now; the refusal is audited as at the handshake. */
async function refreshCertRevocations(open: OpenThings, tls: TlsManager | null): Promise<void> {
  const { config, connections, audit, log } = open;
  if (!tls || config.tls.clientAuth === 'off') return;
  try {
    await tls.refreshRevocations();
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
