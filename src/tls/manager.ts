// The TLS manager: owns the certificate in service (local CA, files or ACME), hot-swaps it into
// the listener, and answers per request whether the client certificate is acceptable. Everything
// is validated and precomputed here at start-up; the request path only calls checkClientCert.
import type { ServerOptions } from 'node:https';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.ts';
import { resolveDataPath as resolveDataDirPath } from '../config/load.ts';
import { tlsDir as tlsDirOf } from '../config/paths.ts';
import type { ClientCertRepo } from '../store/types.ts';
import { tlsProfile, type TlsProfile } from './profile.ts';
import { caStatus, ensureLocalCa, type LocalCa } from './local-ca.ts';
import { createLocalSource } from './local-source.ts';
import { createFilesSource } from './files-source.ts';
import type { AcmeSourceHandle, AcmeStatus } from './acme-source.ts';
import { ClientCertVerifier, type ClientCertCheck } from './client-verify.ts';
import { CRL_RESIGN_MS, CRL_VALIDITY_DAYS, crlPath, readCrl, writeCrl, type CrlInfo } from './crl.ts';
import { describeCertificate, type CertificateInfo } from './cert-info.ts';
import { readTextFile, tlsError } from './files.ts';
import { splitPemCerts } from './x509-util.ts';
import { normalizeSerial } from '../store/serial.ts';
import { watchFiles, type FileWatcher } from './watch.ts';
import type { CertSourceHandle, ServingPair, TlsLog } from './types.ts';

export type { ClientCertCheck } from './client-verify.ts';
export type { TlsLog } from './types.ts';

export interface CertStatus {
  mode: Config['tls']['mode'];
  minVersion: Config['tls']['minVersion'];
  clientAuth: Config['tls']['clientAuth'];
  certificate: CertificateInfo;
  /** intermediates sent after the leaf */
  chain: CertificateInfo[];
  ca?: { path: string; fingerprint256: string; notAfter: string; daysLeft: number; warning?: string };
  clientCA?: { path: string; subjects: string[] };
  crl?: { path: string; thisUpdate: string; nextUpdate: string | null; revoked: number };
  acme?: AcmeStatus;
}

export interface TlsManager {
  /** Options for https.createServer: profile, certificate, and client-certificate settings. */
  serverOptions(): ServerOptions;
  /** Called with the full new context whenever the certificate changes; pass it to
   *  server.setSecureContext(opts). Open connections keep their old context. */
  onChange(cb: (opts: SecureContextOptions) => void): void;
  /** Per request: the client certificate's verdict against the clock and the revoked set now. */
  checkClientCert(socket: TLSSocket): ClientCertCheck;
  /** Re-reads revoked serials from the store and tls/crl.pem (call on a store generation change). */
  refreshRevocations(): Promise<void>;
  status(): CertStatus;
  /** Resolves once the certificate Warden is meant to serve is in service (ACME: first order done). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface TlsManagerOptions {
  config: Config;
  dataDir: string;
  clientCerts?: ClientCertRepo;
  log: TlsLog;
  /** tests: lifetime of local-CA server certificates (default 397 days) */
  localCertLifetimeMs?: number;
  /** tests: first ACME retry delay (default 60 s, doubling to 6 h) */
  acmeRetryMs?: number;
  /** tests: file poll interval (default 1000 ms) */
  pollMs?: number;
}

export async function createTlsManager(opts: TlsManagerOptions): Promise<TlsManager> {
  const { config, log } = opts;
  const tls = config.tls;
  if (tls.mode === 'off') throw tlsError('tls.mode is off: the TLS manager is not used for plain HTTP');
  const tlsDir = tlsDirOf(opts.dataDir);
  const profile: TlsProfile = tlsProfile(tls.minVersion);
  const { handshakeTimeout: _ht, ...contextProfile } = profile;
  const listeners: Array<(o: SecureContextOptions) => void> = [];
  const timers: NodeJS.Timeout[] = [];
  const watchers: FileWatcher[] = [];

  // The local CA exists whenever it signs something in use: the server cert (mode local) or the
  // client certificates (mTLS without an explicit tls.clientCA).
  const needsCa = tls.mode === 'local' || (tls.clientAuth !== 'off' && tls.clientCA === null);
  const ca: LocalCa | null = needsCa ? await ensureLocalCa(tlsDir) : null;

  // Client CA and verifier, precomputed.
  let clientCaPem: string | null = null;
  let clientCaPath: string | null = null;
  let verifier: ClientCertVerifier | null = null;
  if (tls.clientAuth !== 'off') {
    clientCaPath = tls.clientCA ? resolveDataDirPath(opts.dataDir, tls.clientCA) : ca!.certPath;
    clientCaPem = tls.clientCA ? readTextFile(clientCaPath, 'tls.clientCA') : ca!.certPem;
    if (splitPemCerts(clientCaPem).length === 0) throw tlsError(`tls.clientCA ${clientCaPath} contains no PEM certificate`);
    try {
      verifier = new ClientCertVerifier(clientCaPem);
    } catch (err) {
      throw tlsError(`tls.clientCA ${clientCaPath} contains a certificate that cannot be parsed`, err);
    }
  }
  // Warden keeps a CRL only for the CA it runs itself.
  const ownCrl = verifier !== null && ca !== null && tls.clientCA === null;
  let crl = null as CrlInfo | null;

  let current: ServingPair;
  const contextOptions = (): SecureContextOptions => ({
    ...contextProfile,
    cert: current.certPem,
    key: current.keyPem,
    ...(clientCaPem ? { ca: clientCaPem } : {}),
  });
  const swap = (pair: ServingPair): void => {
    current = pair;
    const o = contextOptions();
    for (const cb of listeners) {
      try {
        cb(o);
      } catch (err) {
        log('error', `tls: applying the new certificate failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  let source: CertSourceHandle;
  let acme: AcmeSourceHandle | null = null;
  if (tls.mode === 'local') {
    source = await createLocalSource({
      tlsDir,
      ca: ca!,
      hostnames: tls.hostnames,
      log,
      swap,
      ...(opts.localCertLifetimeMs === undefined ? {} : { lifetimeMs: opts.localCertLifetimeMs }),
      ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
    });
  } else if (tls.mode === 'files') {
    if (!tls.cert || !tls.key) throw tlsError('tls.mode is files but tls.cert and tls.key are not both set');
    source = createFilesSource({
      certPath: resolveDataDirPath(opts.dataDir, tls.cert),
      keyPath: resolveDataDirPath(opts.dataDir, tls.key),
      passphrase: tls.keyPassphrase ?? process.env.WARDEN_TLS_KEY_PASSPHRASE ?? null,
      hostnames: tls.hostnames,
      log,
      swap,
      ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
    });
  } else {
    // acme-client is loaded only in ACME mode.
    const { createAcmeSource } = await import('./acme-source.ts');
    acme = await createAcmeSource({ config, dataDir: opts.dataDir, tlsDir, log, swap, ...(opts.acmeRetryMs === undefined ? {} : { retryMs: opts.acmeRetryMs }) });
    source = acme;
  }
  current = source.pair;

  const refreshRevocations = async (): Promise<void> => {
    if (!verifier) return;
    const serials = new Set<string>();
    let fromStore: Array<{ serial: string; revokedAt: Date }> = [];
    if (opts.clientCerts) {
      fromStore = (await opts.clientCerts.list()).filter((c) => c.revokedAt !== null).map((c) => ({ serial: c.serial, revokedAt: c.revokedAt! }));
      for (const r of fromStore) serials.add(normalizeSerial(r.serial));
    }
    if (ownCrl) {
      try {
        crl = await readCrl(tlsDir, ca!);
      } catch (err) {
        log('error', `tls: ${err instanceof Error ? err.message : String(err)}`);
      }
      for (const s of crl?.serials ?? []) serials.add(s);
      // Another instance (or the CLI) revoked something the CRL does not list yet: re-sign it.
      const missing = fromStore.some((r) => !crl?.serials.has(normalizeSerial(r.serial)));
      if (missing) crl = await writeCrl(tlsDir, ca!, fromStore);
    }
    verifier.setRevoked(serials);
  };

  const resignCrl = async (): Promise<void> => {
    if (!ownCrl) return;
    try {
      const entries = opts.clientCerts
        ? (await opts.clientCerts.list()).filter((c) => c.revokedAt !== null).map((c) => ({ serial: c.serial, revokedAt: c.revokedAt! }))
        : [...(crl?.serials ?? [])].map((serial) => ({ serial, revokedAt: crl!.thisUpdate }));
      crl = await writeCrl(tlsDir, ca!, entries);
      await refreshRevocations();
    } catch (err) {
      log('error', `tls: re-signing the CRL failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  if (verifier) {
    await refreshRevocations();
    if (ownCrl) {
      // Re-sign daily, long before nextUpdate (7 days), and now if the file is missing or a day old.
      const age = crl ? Date.now() - crl.thisUpdate.getTime() : Infinity;
      if (age >= CRL_RESIGN_MS || (crl?.nextUpdate && crl.nextUpdate.getTime() - Date.now() < (CRL_VALIDITY_DAYS - 1) * 86_400_000)) await resignCrl();
      const t = setInterval(() => void resignCrl(), CRL_RESIGN_MS);
      t.unref();
      timers.push(t);
      // `warden cert client revoke` in another process rewrites crl.pem: enforce it within ~1 s
      // even when the store generation is not being polled.
      watchers.push(watchFiles([crlPath(tlsDir)], () => void refreshRevocations().catch((err: unknown) => log('error', `tls: ${String(err)}`)), opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }));
    }
  }

  return {
    serverOptions(): ServerOptions {
      return {
        ...profile,
        cert: current.certPem,
        key: current.keyPem,
        ...(clientCaPem ? { ca: clientCaPem, requestCert: true } : { requestCert: false }),
        // The handshake never fails on a client certificate: checkClientCert decides per request,
        // so every refusal can be answered with a reason and written to the audit log.
        rejectUnauthorized: false,
        ...(acme?.serverHooks() ?? {}),
      };
    },
    onChange(cb) {
      listeners.push(cb);
    },
    checkClientCert(socket) {
      if (!verifier) return { state: 'none' };
      return verifier.check(socket);
    },
    refreshRevocations,
    status(): CertStatus {
      const [leaf, ...chain] = splitPemCerts(current.certPem);
      const st: CertStatus = {
        mode: tls.mode,
        minVersion: tls.minVersion,
        clientAuth: tls.clientAuth,
        certificate: describeCertificate(leaf!, current.source),
        chain: chain.map((p) => describeCertificate(p, current.source)),
      };
      if (ca) {
        st.ca = caStatus(ca);
      }
      if (clientCaPem && clientCaPath) st.clientCA = { path: clientCaPath, subjects: splitPemCerts(clientCaPem).map((p) => describeCertificate(p, 'ca').subject) };
      if (crl) st.crl = { path: crl.path, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null, revoked: crl.serials.size };
      if (acme) st.acme = acme.status();
      return st;
    },
    ready(): Promise<void> {
      return acme ? acme.ready() : Promise.resolve();
    },
    async close(): Promise<void> {
      source.close();
      for (const t of timers) clearInterval(t);
      for (const w of watchers) w.close();
    },
  };
}
