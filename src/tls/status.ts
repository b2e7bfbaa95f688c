// `warden cert status [--json]` when no server is running: the same CertStatus shape as the
// running manager's status(), read from the files on disk without creating or ordering anything.
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import { tlsDir as tlsDirOf } from '../config/paths.ts';
import { describeCertificate, type CertificateInfo } from './cert-info.ts';
import { caStatus, loadLocalCa } from './local-ca.ts';
import { readCrl } from './crl.ts';
import { fileExists, readTextFile, tlsError } from './files.ts';
import { SERVER_CERT_FILE } from './server-cert.ts';
import { ACME_DIR } from './acme-paths.ts';
import { splitPemCerts } from './x509-util.ts';
import type { CertStatus } from './manager.ts';

/** Reads the certificates Warden would serve with this config. Throws TLS_INVALID (one clear
 *  message) when they do not exist yet. */
export async function readCertStatus(config: Config, dataDir: string): Promise<CertStatus> {
  const tls = config.tls;
  if (tls.mode === 'off') throw tlsError('TLS is off (tls.mode: off): no certificate in use');
  const dir = tlsDirOf(dataDir);
  const ca = loadLocalCa(dir);
  let certPath: string;
  let source: CertificateInfo['source'];
  if (tls.mode === 'local') {
    certPath = join(dir, SERVER_CERT_FILE);
    source = 'local-ca';
  } else if (tls.mode === 'files') {
    if (!tls.cert) throw tlsError('tls.mode is files but tls.cert is not set');
    certPath = resolveDataPath(dataDir, tls.cert);
    source = 'files';
  } else {
    certPath = join(dir, ACME_DIR, 'cert.pem');
    source = 'acme';
  }
  if (!fileExists(certPath)) throw tlsError(`no certificate yet at ${certPath}; run \`warden init\` or start \`warden serve\` once`);
  const [leaf, ...chain] = splitPemCerts(readTextFile(certPath, 'certificate'));
  if (!leaf) throw tlsError(`${certPath} contains no PEM certificate`);
  const st: CertStatus = {
    mode: tls.mode,
    minVersion: tls.minVersion,
    clientAuth: tls.clientAuth,
    certificate: describeCertificate(leaf, source),
    chain: chain.map((p) => describeCertificate(p, source)),
  };
  if (ca) {
    st.ca = caStatus(ca);
    const crl = await readCrl(dir, ca);
    if (crl) st.crl = { path: crl.path, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null, revoked: crl.serials.size };
  }
  if (tls.clientAuth !== 'off') {
    const path = tls.clientCA ? resolveDataPath(dataDir, tls.clientCA) : ca?.certPath;
    if (path && fileExists(path)) st.clientCA = { path, subjects: splitPemCerts(readTextFile(path, 'tls.clientCA')).map((p) => describeCertificate(p, 'ca').subject) };
  }
  if (tls.mode === 'acme') {
    st.acme = {
      state: source === 'acme' ? 'valid' : 'pending',
      directory: tls.acme.directory,
      challenge: tls.acme.challenge,
      domains: [...tls.acme.domains],
      accountKeyPath: join(dir, ACME_DIR, 'account-key.pem'),
      lastError: null,
      lastAttempt: null,
      nextAttempt: null,
    };
  }
  return st;
}

function certLines(label: string, c: CertificateInfo): string[] {
  const pad = (k: string): string => `  ${k.padEnd(13)}`;
  return [
    `${label}:`,
    `${pad('source')}${c.source}`,
    `${pad('subject')}${c.subject}`,
    `${pad('issuer')}${c.issuer}`,
    ...(c.sans.length ? [`${pad('names')}${c.sans.join(', ')}`] : []),
    `${pad('valid')}${c.notBefore} → ${c.notAfter} (${c.daysLeft} days left)`,
    `${pad('sha-256')}${c.fingerprint256}`,
  ];
}

/** Aligned human text for `warden cert status`. */
export function formatCertStatus(st: CertStatus): string {
  const out = [`TLS mode:      ${st.mode}`, `min version:   TLS ${st.minVersion}`, `client certs:  ${st.clientAuth}`, '', ...certLines('Server certificate', st.certificate)];
  st.chain.forEach((c, i) => out.push('', ...certLines(`Chain certificate ${i + 1}`, c)));
  if (st.ca) {
    out.push('', 'Local CA:', `  path         ${st.ca.path}`, `  sha-256      ${st.ca.fingerprint256}`, `  expires      ${st.ca.notAfter} (${st.ca.daysLeft} days left)`);
    if (st.ca.warning) out.push(`  WARNING      ${st.ca.warning}`);
  }
  if (st.clientCA) out.push('', `Client CA:     ${st.clientCA.path} (${st.clientCA.subjects.join('; ')})`);
  if (st.crl) out.push(`CRL:           ${st.crl.path}, ${st.crl.revoked} revoked, next update ${st.crl.nextUpdate ?? 'none'}`);
  if (st.acme) {
    out.push('', 'ACME:', `  state        ${st.acme.state}`, `  directory    ${st.acme.directory}`, `  challenge    ${st.acme.challenge}`, `  domains      ${st.acme.domains.join(', ')}`);
    if (st.acme.lastError) out.push(`  last error   ${st.acme.lastError}`);
    if (st.acme.nextAttempt) out.push(`  next try     ${st.acme.nextAttempt}`);
  }
  return out.join('\n') + '\n';
}
