// Warden's own certificate authority (docs/design.md §2, source 1): an ECDSA P-256 CA valid 10 years,
// created once in <data>/tls/, that signs the server certificate and client certificates.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadX509, SIGNING_ALG, generateEcKey, importSigningKey, randomSerial, type X509 } from './x509-util.ts';
import { assertPrivateFile, fileExists, readTextFile, tlsError, writeFileAtomic } from './files.ts';

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const CA_YEARS = 10;
/** `cert status` warns this long before the CA itself expires. */
export const CA_WARN_DAYS = 90;

export interface LocalCa {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  /** AA:BB:… upper case, like node's X509Certificate.fingerprint256 */
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
}

export function caPaths(tlsDir: string): { certPath: string; keyPath: string } {
  return { certPath: join(tlsDir, CA_CERT_FILE), keyPath: join(tlsDir, CA_KEY_FILE) };
}

/** Loads the CA from tlsDir, or returns null when it has not been created yet. Refuses a key
 *  that others can read, a half-present CA, and a key that does not belong to the certificate. */
export function loadLocalCa(tlsDir: string): LocalCa | null {
  const { certPath, keyPath } = caPaths(tlsDir);
  const hasCert = fileExists(certPath);
  const hasKey = fileExists(keyPath);
  if (!hasCert && !hasKey) return null;
  if (!hasKey) throw tlsError(`local CA key ${keyPath} is missing while ${certPath} exists; restore it from a backup or delete both to create a new CA (clients will have to trust the new one)`);
  if (!hasCert) throw tlsError(`local CA certificate ${certPath} is missing while ${keyPath} exists; restore it from a backup or delete both to create a new CA`);
  assertPrivateFile(keyPath, 'local CA key');
  const certPem = readTextFile(certPath, 'local CA certificate');
  const keyPem = readTextFile(keyPath, 'local CA key');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw tlsError(`local CA certificate ${certPath} is not a PEM certificate`, err);
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw tlsError(`local CA key ${keyPath} is not a readable PEM private key`, err);
  }
  if (!matches) throw tlsError(`local CA key ${keyPath} does not belong to the certificate ${certPath}`);
  return {
    certPem,
    keyPem,
    certPath,
    keyPath,
    fingerprint256: cert.fingerprint256,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    subject: cert.subject.split('\n').join(', '),
  };
}

/** Returns the CA in tlsDir, creating it (ca.pem 0644, ca-key.pem 0600) on first use. */
export async function ensureLocalCa(tlsDir: string): Promise<LocalCa> {
  const existing = loadLocalCa(tlsDir);
  if (existing) return existing;
  const { certPath, keyPath } = caPaths(tlsDir);
  const x509 = await loadX509();
  const { keys, keyPem } = await generateEcKey();
  const notBefore = new Date(Date.now() - 60_000); // tolerate small clock skew between hosts
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
  // A random tag in the name keeps two installations' CAs apart in a trust store that has both.
  const name = `CN=Ollama Warden Local CA ${sanitize(hostname())} ${randomBytes(3).toString('hex')}, O=Ollama Warden`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALG,
    extensions: [
      // pathLen 0: this CA signs leaves only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // Key first: a crash in between leaves "key without cert", which load refuses loudly rather
  // than a certificate whose key is lost.
  writeFileAtomic(keyPath, keyPem, 0o600);
  writeFileAtomic(certPath, cert.toString('pem') + '\n', 0o644);
  const loaded = loadLocalCa(tlsDir);
  if (!loaded) throw tlsError(`local CA could not be created in ${tlsDir}`);
  return loaded;
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]/g, '').slice(0, 32) || 'host';
}

/** The CA's signing key and certificate, ready for @peculiar/x509 generators. */
export async function caSigner(ca: LocalCa): Promise<{ cert: X509.X509Certificate; signingKey: CryptoKey }> {
  const x509 = await loadX509();
  return { cert: new x509.X509Certificate(ca.certPem), signingKey: await importSigningKey(ca.keyPem) };
}

/** Warning text when the CA is within CA_WARN_DAYS of expiry, else undefined. */
export function caExpiryWarning(ca: LocalCa, now: Date = new Date()): string | undefined {
  const days = Math.floor((ca.notAfter.getTime() - now.getTime()) / 86_400_000);
  if (days > CA_WARN_DAYS) return undefined;
  if (days < 0) return `the local CA expired on ${ca.notAfter.toISOString()}; create a new one and re-trust it on every client`;
  return `the local CA expires in ${days} days (${ca.notAfter.toISOString()}); plan a new CA and re-trust it on every client`;
}

/** The CA as `cert status` and `warden status` show it, with the 90-day expiry warning. */
export function caStatus(ca: LocalCa, now: Date = new Date()): { path: string; fingerprint256: string; notAfter: string; daysLeft: number; warning?: string } {
  const warning = caExpiryWarning(ca, now);
  return {
    path: ca.certPath,
    fingerprint256: ca.fingerprint256,
    notAfter: ca.notAfter.toISOString(),
    daysLeft: Math.floor((ca.notAfter.getTime() - now.getTime()) / 86_400_000),
    ...(warning ? { warning } : {}),
  };
}
