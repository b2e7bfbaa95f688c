// The local CA's certificate revocation list (RFC 5280 §5), written to tls/crl.pem. The running
// server enforces revocation from its in-memory set; the CRL is the portable record of it, for
// other relying parties and for a server that runs without the store.
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { loadX509, SIGNING_ALG, type X509 } from './x509-util.ts';
import { normalizeSerial } from '../store/serial.ts';
import { caSigner, type LocalCa } from './local-ca.ts';
import { fileExists, readTextFile, tlsError, writeFileAtomic } from './files.ts';

export const CRL_FILE = 'crl.pem';
/** nextUpdate distance. Warden re-signs daily, so a relying party never sees a stale CRL. */
export const CRL_VALIDITY_DAYS = 7;
export const CRL_RESIGN_MS = 86_400_000;

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
}

export interface CrlInfo {
  path: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** normalized serials (lower-case hex, no leading zeros) */
  serials: Set<string>;
}

export function crlPath(tlsDir: string): string {
  return join(tlsDir, CRL_FILE);
}

/** DER INTEGER for the cRLNumber extension (RFC 5280 §5.2.3: monotonically increasing). */
function derInteger(n: bigint): ArrayBuffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = '00' + hex;
  const body = Buffer.from(hex, 'hex');
  const der = Buffer.concat([Buffer.from([0x02, body.length]), body]);
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.length) as ArrayBuffer;
}

/** RFC 5280 §4.1.2.5.2: GeneralizedTime without fractional seconds. */
function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** Signs a CRL listing `revoked` with the local CA and writes it atomically. */
export async function writeCrl(tlsDir: string, ca: LocalCa, revoked: readonly RevokedEntry[], now: Date = new Date()): Promise<CrlInfo> {
  const x509 = await loadX509();
  const { cert, signingKey } = await caSigner(ca);
  now = wholeSeconds(now);
  const nextUpdate = new Date(now.getTime() + CRL_VALIDITY_DAYS * 86_400_000);
  // Milliseconds since the epoch only ever grow, which is all cRLNumber asks for.
  const crlNumber = new x509.Extension('2.5.29.20', false, derInteger(BigInt(now.getTime())));
  const crl = await x509.X509CrlGenerator.create({
    issuer: cert.subject,
    thisUpdate: now,
    nextUpdate,
    signingKey,
    signingAlgorithm: SIGNING_ALG,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(cert), crlNumber],
    // Each entry carries an invalidity date (RFC 5280 §5.3.2). Besides being true, it works
    // around @peculiar/x509 writing an empty crlEntryExtensions SEQUENCE for an entry without
    // extensions, which OpenSSL rightly rejects (SIZE (1..MAX)).
    entries: revoked.map((r) => ({ serialNumber: normalizeSerial(r.serial).padStart(2, '0'), revocationDate: wholeSeconds(r.revokedAt), invalidity: wholeSeconds(r.revokedAt) })),
  });
  const path = crlPath(tlsDir);
  // "X509 CRL" is the label OpenSSL and RFC 7468 §6 use; the library's default "CRL" is unreadable to them.
  writeFileAtomic(path, x509.PemConverter.encode(crl.rawData, 'X509 CRL') + '\n', 0o644);
  return { path, thisUpdate: now, nextUpdate, serials: new Set(revoked.map((r) => normalizeSerial(r.serial))) };
}

/** Reads tls/crl.pem, checking it was signed by `ca`; null when there is none. */
export async function readCrl(tlsDir: string, ca: LocalCa): Promise<CrlInfo | null> {
  const path = crlPath(tlsDir);
  if (!fileExists(path)) return null;
  const x509 = await loadX509();
  let crl: X509.X509Crl;
  try {
    crl = new x509.X509Crl(readTextFile(path, 'CRL'));
  } catch (err) {
    throw tlsError(`CRL ${path} is not a valid PEM CRL`, err);
  }
  const caKey = new X509Certificate(ca.certPem).publicKey.export({ format: 'der', type: 'spki' });
  const ok = await crl.verify({ publicKey: new x509.PublicKey(caKey) }).catch(() => false);
  if (!ok) throw tlsError(`CRL ${path} is not signed by the local CA ${ca.certPath}`);
  return {
    path,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    serials: new Set(crl.entries.map((e) => normalizeSerial(e.serialNumber))),
  };
}
