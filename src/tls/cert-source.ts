// Picks the certificate source tls.mode names (docs/design.md §2): the local CA's server
// certificate, an operator's files, or ACME. Each keeps its certificate current on its own and
// hands a new one to `swap`.
import type { Config } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import type { LocalCa } from './local-ca.ts';
import { createLocalSource } from './local-source.ts';
import { createFilesSource } from './files-source.ts';
import type { AcmeSourceHandle } from './acme-source.ts';
import { tlsError } from './files.ts';
import type { CertSourceHandle, SwapFn, TlsLog } from './types.ts';

export interface CertSourceOptions {
  config: Config;
  dataDir: string;
  tlsDir: string;
  /** the local CA: present in mode local */
  ca: LocalCa | null;
  log: TlsLog;
  swap: SwapFn;
  /** tests: lifetime of local-CA server certificates (default 397 days) */
  localCertLifetimeMs?: number;
  /** tests: first ACME retry delay (default 60 s, doubling to 6 h) */
  acmeRetryMs?: number;
  /** tests: file poll interval (default 1000 ms) */
  pollMs?: number;
}

/** The source, and the same handle as `acme` when it is ACME (its status and readiness). */
export async function openCertSource(o: CertSourceOptions): Promise<{ source: CertSourceHandle; acme: AcmeSourceHandle | null }> {
  const { config, log, swap } = o;
  const tls = config.tls;
  const pollMs = o.pollMs === undefined ? {} : { pollMs: o.pollMs };
  if (tls.mode === 'local') {
    const lifetimeMs = o.localCertLifetimeMs === undefined ? {} : { lifetimeMs: o.localCertLifetimeMs };
    return { source: await createLocalSource({ tlsDir: o.tlsDir, ca: o.ca!, hostnames: tls.hostnames, log, swap, ...lifetimeMs, ...pollMs }), acme: null };
  }
  if (tls.mode === 'files') {
    if (!tls.cert || !tls.key) throw tlsError('tls.mode is files but tls.cert and tls.key are not both set');
    const source = createFilesSource({
      certPath: resolveDataPath(o.dataDir, tls.cert),
      keyPath: resolveDataPath(o.dataDir, tls.key),
      passphrase: tls.keyPassphrase ?? process.env.WARDEN_TLS_KEY_PASSPHRASE ?? null,
      hostnames: tls.hostnames,
      log,
      swap,
      ...pollMs,
    });
    return { source, acme: null };
  }
  // acme-client is loaded only in ACME mode.
  const { createAcmeSource } = await import('./acme-source.ts');
  const acme = await createAcmeSource({ config, dataDir: o.dataDir, tlsDir: o.tlsDir, log, swap, ...(o.acmeRetryMs === undefined ? {} : { retryMs: o.acmeRetryMs }) });
  return { source: acme, acme };
}
