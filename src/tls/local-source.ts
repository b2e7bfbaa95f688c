// Certificate source "local": the local CA's server certificate, renewed by a timer at 2/3 of
// its life and hot-swapped into the listener (docs/design.md §2).
import { join } from 'node:path';
import type { LocalCa } from './local-ca.ts';
import { ensureServerCert, extraNames, invalidPairReason, SERVER_CERT_FILE, SERVER_KEY_FILE } from './server-cert.ts';
import { readFileOrNull } from './files.ts';
import { certSans } from './x509-util.ts';
import { watchFiles } from './watch.ts';
import type { CertSourceHandle, ServingPair, SwapFn, TlsLog } from './types.ts';

/** setTimeout's ceiling (2^31-1 ms ≈ 24.8 days); longer waits are chained. */
const MAX_TIMEOUT = 2_147_483_647;
const RETRY_MS = 3_600_000;

export interface LocalSourceOptions {
  tlsDir: string;
  ca: LocalCa;
  hostnames: readonly string[];
  log: TlsLog;
  swap: SwapFn;
  /** tests: issue short-lived certificates to watch renewal happen */
  lifetimeMs?: number;
  /** how often the certificate files are polled besides fs.watch (default 1 s) */
  pollMs?: number;
}

export async function createLocalSource(opts: LocalSourceOptions): Promise<CertSourceHandle> {
  const issueOpts = { ca: opts.ca, ...(opts.lifetimeMs === undefined ? {} : { lifetimeMs: opts.lifetimeMs }) };
  // The names renewals ask for: the config's at start, then those of any certificate
  // `warden cert hostnames` writes while the server runs.
  let hostnames: readonly string[] = opts.hostnames;
  const first = await ensureServerCert(opts.tlsDir, hostnames, issueOpts);
  let pair: ServingPair = { certPem: first.certPem, keyPem: first.keyPem, source: 'local-ca' };
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const schedule = (at: Date): void => {
    if (closed) return;
    const wait = Math.max(0, at.getTime() - Date.now());
    timer = setTimeout(() => (wait > MAX_TIMEOUT ? schedule(at) : void renew()), Math.min(wait, MAX_TIMEOUT));
    timer.unref();
  };

  const renew = async (): Promise<void> => {
    try {
      const next = await ensureServerCert(opts.tlsDir, hostnames, issueOpts);
      if (closed) return;
      if (!next.reused) {
        pair = { certPem: next.certPem, keyPem: next.keyPem, source: 'local-ca' };
        opts.log('info', 'tls: server certificate renewed', { notAfter: next.notAfter.toISOString() });
        opts.swap(pair);
      }
      schedule(next.renewAt);
    } catch (err) {
      // The current certificate still has a third of its life: keep it and try again later.
      opts.log('error', `tls: server certificate renewal failed: ${err instanceof Error ? err.message : String(err)}`);
      schedule(new Date(Date.now() + Math.min(RETRY_MS, opts.lifetimeMs ?? RETRY_MS)));
    }
  };

  // `warden cert hostnames add|remove` (another process) reissues tls/server.pem: serve the new
  // pair within ~1 s, without a restart, once both files belong together and to this CA.
  const certPath = join(opts.tlsDir, SERVER_CERT_FILE);
  const keyPath = join(opts.tlsDir, SERVER_KEY_FILE);
  const adopt = (): void => {
    const certPem = readFileOrNull(certPath);
    const keyPem = readFileOrNull(keyPath);
    if (closed || !certPem || !keyPem || certPem === pair.certPem) return;
    const invalid = invalidPairReason(certPem, keyPem, opts.ca);
    if (invalid) return opts.log('warn', `tls: ignoring ${certPath}: ${invalid}`);
    pair = { certPem, keyPem, source: 'local-ca' };
    hostnames = extraNames(certSans(certPem));
    opts.log('info', 'tls: server certificate replaced on disk; now serving it', { names: certSans(certPem) });
    opts.swap(pair);
  };
  const watcher = watchFiles([certPath, keyPath], adopt, opts.pollMs === undefined ? {} : { pollMs: opts.pollMs });

  schedule(first.renewAt);
  return {
    get pair() {
      return pair;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
