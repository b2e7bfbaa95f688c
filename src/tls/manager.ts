// The TLS manager: owns the certificate in service (local CA, files or ACME: cert-source.ts),
// hot-swaps it into the listener (serving.ts), and answers per request whether the client
// certificate is acceptable (client-ca.ts, revoked-certs.ts). Everything is validated and
// precomputed here at start-up; the request path only calls checkClientCert.
import type { ServerOptions } from 'node:https';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.ts';
import { tlsDir as tlsDirOf } from '../config/paths.ts';
import type { ClientCertRepo } from '../store/types.ts';
import { tlsProfile } from './profile.ts';
import { caStatus, ensureLocalCa, type LocalCa } from './local-ca.ts';
import type { AcmeSourceHandle, AcmeStatus } from './acme-source.ts';
import type { ClientCertCheck } from './client-verify.ts';
import { describeCertificate, type CertificateInfo } from './cert-info.ts';
import { tlsError } from './files.ts';
import { splitPemCerts } from './x509-util.ts';
import { loadClientCa, type ClientCa } from './client-ca.ts';
import { RevokedCerts } from './revoked-certs.ts';
import { ServingCert } from './serving.ts';
import { openCertSource } from './cert-source.ts';
import type { TlsLog } from './types.ts';

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
  // The local CA exists whenever it signs something in use: the server cert (mode local) or the
  // client certificates (mTLS without an explicit tls.clientCA).
  const needsCa = tls.mode === 'local' || (tls.clientAuth !== 'off' && tls.clientCA === null);
  const ca: LocalCa | null = needsCa ? await ensureLocalCa(tlsDir) : null;
  const clientCa = loadClientCa(tls, opts.dataDir, ca);
  const serving = new ServingCert(tlsProfile(tls.minVersion), clientCa?.pem ?? null, log);
  const { source, acme } = await openCertSource({ ...opts, tlsDir, ca, swap: serving.swap });
  serving.use(source.pair);
  // Warden keeps a CRL only for the CA it runs itself.
  const revoked = clientCa
    ? await RevokedCerts.start({ verifier: clientCa.verifier, ownCa: tls.clientCA === null ? ca : null, tlsDir, log, ...(opts.clientCerts ? { clientCerts: opts.clientCerts } : {}), ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }) })
    : null;

  return {
    serverOptions: () => serving.serverOptions(acme?.serverHooks() ?? {}),
    onChange: (cb) => serving.onChange(cb),
    checkClientCert: (socket) => (clientCa ? clientCa.verifier.check(socket) : { state: 'none' }),
    refreshRevocations: async () => revoked?.refresh(),
    status: () => statusOf(tls, serving, ca, clientCa, revoked, acme),
    ready: () => (acme ? acme.ready() : Promise.resolve()),
    async close(): Promise<void> {
      source.close();
      revoked?.close();
    },
  };
}

function statusOf(tls: Config['tls'], serving: ServingCert, ca: LocalCa | null, clientCa: ClientCa | null, revoked: RevokedCerts | null, acme: AcmeSourceHandle | null): CertStatus {
  const { current } = serving;
  const [leaf, ...chain] = splitPemCerts(current.certPem);
  const st: CertStatus = {
    mode: tls.mode,
    minVersion: tls.minVersion,
    clientAuth: tls.clientAuth,
    certificate: describeCertificate(leaf!, current.source),
    chain: chain.map((p) => describeCertificate(p, current.source)),
  };
  if (ca) st.ca = caStatus(ca);
  if (clientCa) st.clientCA = { path: clientCa.path, subjects: splitPemCerts(clientCa.pem).map((p) => describeCertificate(p, 'ca').subject) };
  const crl = revoked?.crl;
  if (crl) st.crl = { path: crl.path, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null, revoked: crl.serials.size };
  if (acme) st.acme = acme.status();
  return st;
}
