// Small helpers around @peculiar/x509 and node:crypto shared by the CA, server, client and CRL
// code: key generation, PEM conversion, serials, and name parsing.
// @peculiar/x509 needs a Reflect metadata polyfill loaded before it (its README, "Reflect
// Polyfill Required"). reflect-metadata must be a direct dependency in package.json.
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface GeneratedKey {
  keys: CryptoKeyPair;
  /** PKCS#8 PEM */
  keyPem: string;
}

export async function generateEcKey(): Promise<GeneratedKey> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
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

/** Serials compared across tools: lower-case hex without leading zeros. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^0+(?=.)/, '');
}

/** SHA-256 fingerprint, hex lower case without colons (the store's format). */
export function fingerprintHex(cert: NodeX509): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

export function sanEntries(names: readonly string[]): x509.JsonGeneralNames {
  return names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
}

/** DNS and IP subject alternative names of a certificate, as plain strings. */
export function certSans(pem: string): string[] {
  const cert = new x509.X509Certificate(pem);
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!ext) return [];
  return ext.names
    .toJSON()
    .filter((n) => n.type === 'dns' || n.type === 'ip')
    .map((n) => n.value);
}

/** Splits a PEM bundle into its certificates (leaf first, as files and ACME deliver them). */
export function splitPemCerts(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((s) => s + '\n') ?? [];
}

export function toDate(s: string): Date {
  return new Date(s);
}
