// Small helpers shared by the CA, server, client and CRL code: key generation, PEM conversion,
// serials, and name parsing. Everything here runs on node:crypto; @peculiar/x509 comes through
// loadX509() only where a certificate or CRL is built or a CRL read (see x509-lib.ts).
import { createPrivateKey, randomBytes, webcrypto, KeyObject, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';

export type { X509 };

/** @peculiar/x509, ready to use with node's WebCrypto. */
export async function loadX509(): Promise<typeof X509> {
  return (await import('./x509-lib.ts')).x509;
}

export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface GeneratedKey {
  keys: CryptoKeyPair;
  /** PKCS#8 PEM */
  keyPem: string;
}

export async function generateEcKey(): Promise<GeneratedKey> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { keys, keyPem: KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string };
}

/** A PEM private key (any of PKCS#8/SEC1) as a WebCrypto signing key. */
export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']) as Promise<CryptoKey>;
}

/** 127-bit random positive serial (RFC 5280 §4.1.2.2: ≤ 20 octets, positive; CA/B BR: ≥ 64 bits
 *  of entropy). The top byte is forced into 0x40..0x7f so the hex form never has a leading zero
 *  and every tool prints the same string. */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

/** SHA-256 fingerprint, hex lower case without colons (the store's format). */
export function fingerprintHex(cert: NodeX509): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

export function sanEntries(names: readonly string[]): X509.JsonGeneralNames {
  return names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
}

/** DNS and IP subject alternative names of a certificate, as plain strings, IPv6 in its RFC 5952
 *  form (`::1`), the way they are written when issuing. node:crypto prints IPv6 uncompressed and
 *  upper case, and JSON-quotes a value that holds a comma or a quote. */
export function certSans(pem: string): string[] {
  const text = new NodeX509(pem).subjectAltName;
  if (!text) return [];
  const names: string[] = [];
  // Sticky: entries are read one after another from the start, so text inside another entry's
  // value (a URI holding "DNS:") is never taken for an entry of its own.
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  for (let m = entry.exec(text); m && m[0] !== ''; m = entry.exec(text)) {
    if (m[1] !== 'DNS' && m[1] !== 'IP Address') continue;
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    names.push(m[1] === 'DNS' ? value : canonicalIp(value));
  }
  return names;
}

function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** Splits a PEM bundle into its certificates (leaf first, as files and ACME deliver them). */
export function splitPemCerts(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((s) => s + '\n') ?? [];
}

export function toDate(s: string): Date {
  return new Date(s);
}
