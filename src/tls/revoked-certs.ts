// Which client certificates are revoked, kept current in the verifier (docs/design.md §2): the
// store's revoked serials (every instance reads them) and, for Warden's own CA, tls/crl.pem.
// Warden re-signs that CRL daily, long before its nextUpdate, and at once when the store lists
// a revocation the file lacks; it re-reads the file within ~1 s when another process
// (`warden cert client revoke`) rewrites it.
import type { ClientCertRepo } from '../store/types.ts';
import { normalizeSerial } from '../store/serial.ts';
import type { ClientCertVerifier } from './client-verify.ts';
import type { LocalCa } from './local-ca.ts';
import { CRL_RESIGN_MS, CRL_VALIDITY_DAYS, crlPath, readCrl, writeCrl, type CrlInfo, type RevokedEntry } from './crl.ts';
import { watchFiles, type FileWatcher } from './watch.ts';
import type { TlsLog } from './types.ts';

export interface RevokedCertsOptions {
  verifier: ClientCertVerifier;
  /** The local CA when it is the client CA (tls.clientCA unset): only then does Warden keep a CRL. */
  ownCa: LocalCa | null;
  tlsDir: string;
  clientCerts?: ClientCertRepo;
  log: TlsLog;
  /** tests: file poll interval (default 1000 ms) */
  pollMs?: number;
}

export class RevokedCerts {
  private readonly opts: RevokedCertsOptions;
  private crlInfo: CrlInfo | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watcher: FileWatcher | null = null;

  private constructor(opts: RevokedCertsOptions) {
    this.opts = opts;
  }

  /** Reads the revoked set now; with Warden's own CA, also re-signs the CRL if it is due and
   *  keeps it current from then on. */
  static async start(opts: RevokedCertsOptions): Promise<RevokedCerts> {
    const r = new RevokedCerts(opts);
    await r.refresh();
    const ca = opts.ownCa;
    if (!ca) return r;
    // Re-sign daily, long before nextUpdate (7 days), and now if the file is missing or a day old.
    const crl = r.crlInfo;
    const age = crl ? Date.now() - crl.thisUpdate.getTime() : Infinity;
    if (age >= CRL_RESIGN_MS || (crl?.nextUpdate && crl.nextUpdate.getTime() - Date.now() < (CRL_VALIDITY_DAYS - 1) * 86_400_000)) await r.resign(ca);
    r.timer = setInterval(() => void r.resign(ca), CRL_RESIGN_MS);
    r.timer.unref();
    // `warden cert client revoke` in another process rewrites crl.pem: enforce it within ~1 s
    // even when the store generation is not being polled.
    const onChange = (): void => void r.refresh().catch((err: unknown) => opts.log('error', `tls: ${String(err)}`));
    r.watcher = watchFiles([crlPath(opts.tlsDir)], onChange, opts.pollMs === undefined ? {} : { pollMs: opts.pollMs });
    return r;
  }

  /** The CRL Warden keeps, once read or written. */
  get crl(): CrlInfo | null {
    return this.crlInfo;
  }

  /** Re-reads revoked serials from the store and tls/crl.pem into the verifier. */
  async refresh(): Promise<void> {
    const { opts } = this;
    const serials = new Set<string>();
    const fromStore = opts.clientCerts ? await this.revokedInStore(opts.clientCerts) : [];
    for (const r of fromStore) serials.add(normalizeSerial(r.serial));
    const ca = opts.ownCa;
    if (ca) {
      try {
        this.crlInfo = await readCrl(opts.tlsDir, ca);
      } catch (err) {
        opts.log('error', `tls: ${err instanceof Error ? err.message : String(err)}`);
      }
      for (const s of this.crlInfo?.serials ?? []) serials.add(s);
      // Another instance (or the CLI) revoked something the CRL does not list yet: re-sign it.
      const missing = fromStore.some((r) => !this.crlInfo?.serials.has(normalizeSerial(r.serial)));
      if (missing) this.crlInfo = await writeCrl(opts.tlsDir, ca, fromStore);
    }
    opts.verifier.setRevoked(serials);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
  }

  private async revokedInStore(repo: ClientCertRepo): Promise<RevokedEntry[]> {
    return (await repo.list()).filter((c) => c.revokedAt !== null).map((c) => ({ serial: c.serial, revokedAt: c.revokedAt! }));
  }

  /** Writes a freshly signed CRL (from the store when there is one, else from the CRL itself). */
  private async resign(ca: LocalCa): Promise<void> {
    const { opts } = this;
    try {
      const crl = this.crlInfo;
      const entries = opts.clientCerts ? await this.revokedInStore(opts.clientCerts) : [...(crl?.serials ?? [])].map((serial) => ({ serial, revokedAt: crl!.thisUpdate }));
      this.crlInfo = await writeCrl(opts.tlsDir, ca, entries);
      await this.refresh();
    } catch (err) {
      opts.log('error', `tls: re-signing the CRL failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
