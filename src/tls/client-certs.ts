// Client certificates for mutual TLS (docs/design.md §2): `warden cert client issue|list|revoke`.
// Issued by the local CA with EKU clientAuth; recorded in the store (which every instance reads)
// and, when revoked, listed on tls/crl.pem.
import { X509Certificate, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { tlsDir as tlsDirOf } from '../config/paths.ts';
import { ErrorCode, WardenError, usageError } from '../errors.ts';
import type { ClientCertRecord, ClientCertRepo } from '../store/types.ts';
import { ensureLocalCa, loadLocalCa } from './local-ca.ts';
import { signLeafCert } from './leaf-cert.ts';
import { writeCrl } from './crl.ts';
import { writeFileAtomic } from './files.ts';
import { dnText } from './cert-info.ts';
import { fingerprintHex } from './x509-util.ts';
import { normalizeSerial } from '../store/serial.ts';

export const CLIENT_CERT_DEFAULT_DAYS = 365;
export const CLIENT_CERT_MAX_DAYS = 825;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export interface IssueClientCertOptions {
  /** the data directory's tls/ folder (holds the CA) */
  tlsDir: string;
  name: string;
  days?: number;
  store: ClientCertRepo;
  /** where to write NAME.pem, NAME-key.pem, NAME.p12 (the CLI's --out); without it nothing is
   *  written: the credentials exist only in the answer (the admin API), Warden keeps the record */
  outDir?: string;
}

export interface IssuedClientCert {
  record: ClientCertRecord;
  certPem: string;
  keyPem: string;
  /** PKCS#12 bundle: key, certificate and the CA */
  p12: Buffer;
  /** where they were written (with outDir), else null */
  certPath: string | null;
  keyPath: string | null;
  p12Path: string | null;
  /** shown once by the CLI; never stored */
  p12Password: string;
}

/** 24 base62 characters ≈ 143 bits, uniform (randomInt has no modulo bias). */
function randomPassword(): string {
  let s = '';
  for (let i = 0; i < 24; i++) s += BASE62[randomInt(62)];
  return s;
}

export async function issueClientCert(opts: IssueClientCertOptions): Promise<IssuedClientCert> {
  const { name } = opts;
  if (!NAME_RE.test(name)) throw usageError(`client certificate name "${name.slice(0, 70)}" is not allowed: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  const days = opts.days ?? CLIENT_CERT_DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > CLIENT_CERT_MAX_DAYS) throw usageError(`--days must be a whole number from 1 to ${CLIENT_CERT_MAX_DAYS}, got ${String(days)}`);
  const existing = await opts.store.find(name);
  if (existing && existing.revokedAt === null && existing.notAfter.getTime() > Date.now())
    throw new WardenError(ErrorCode.CONFLICT, `a client certificate named "${name}" is already active (serial ${existing.serial}); revoke it first or choose another name`);

  const ca = await ensureLocalCa(opts.tlsDir);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const { certPem, keyPem } = await signLeafCert(ca, { subject: `CN=${name}, O=Ollama Warden client`, purpose: 'clientAuth', notBefore, notAfter });
  const node = new X509Certificate(certPem);

  const p12Password = randomPassword();
  // The PKCS#12 builder is loaded only when a client certificate is issued.
  const { buildPkcs12 } = await import('./pkcs12.ts');
  const p12 = buildPkcs12({ keyPem, certPems: [certPem, ca.certPem], password: p12Password, friendlyName: name });
  // The private key leaves this function only in the answer, or in the directory the operator
  // named: never in the data dir, where backups and other instances would carry it.
  let certPath: string | null = null;
  let keyPath: string | null = null;
  let p12Path: string | null = null;
  if (opts.outDir !== undefined) {
    certPath = join(opts.outDir, `${name}.pem`);
    keyPath = join(opts.outDir, `${name}-key.pem`);
    p12Path = join(opts.outDir, `${name}.p12`);
    writeFileAtomic(keyPath, keyPem, 0o600);
    writeFileAtomic(certPath, certPem, 0o644);
    writeFileAtomic(p12Path, p12, 0o600);
  }

  const record = await opts.store.add({
    serial: normalizeSerial(node.serialNumber),
    name,
    fingerprint: fingerprintHex(node),
    subject: dnText(node.subject),
    notBefore: new Date(node.validFrom),
    notAfter: new Date(node.validTo),
    createdAt: new Date(),
  });
  return { record, certPem, keyPem, p12, certPath, keyPath, p12Path, p12Password };
}

export interface RevokeClientCertOptions {
  store: ClientCertRepo;
  nameOrSerial: string;
  /** where the CA and crl.pem live; given → the CRL is re-signed at once */
  tlsDir?: string;
  /** data dir, as an alternative to tlsDir */
  dataDir?: string;
  reason?: string;
}

/** Marks the certificate revoked in the store and re-signs tls/crl.pem. A running server enforces
 *  it within ~1 s: it watches crl.pem and re-reads the store on a generation change. */
export async function revokeClientCert(opts: RevokeClientCertOptions): Promise<ClientCertRecord> {
  const key = opts.nameOrSerial.trim();
  const found = await opts.store.find(key);
  if (!found) throw new WardenError(ErrorCode.NOT_FOUND, `no client certificate named or with serial "${key.slice(0, 70)}"`);
  const record = found.revokedAt ? found : await opts.store.revoke(found.serial, opts.reason ?? 'revoked by operator');
  const dir = opts.tlsDir ?? (opts.dataDir ? tlsDirOf(opts.dataDir) : undefined);
  if (dir) {
    const ca = loadLocalCa(dir);
    if (ca) {
      const revoked = (await opts.store.list()).filter((c) => c.revokedAt !== null).map((c) => ({ serial: c.serial, revokedAt: c.revokedAt! }));
      await writeCrl(dir, ca, revoked);
    }
  }
  return record;
}

/** For `cert client list [--json]`. */
export async function listClientCerts(store: ClientCertRepo, now: Date = new Date()): Promise<Array<ClientCertRecord & { state: 'active' | 'revoked' | 'expired' }>> {
  return (await store.list()).map((c) => ({ ...c, state: c.revokedAt ? 'revoked' : c.notAfter.getTime() <= now.getTime() ? 'expired' : 'active' }));
}
