// What `warden cert status` and `warden status` show about one certificate.
import { X509Certificate } from 'node:crypto';
import { certSans } from './x509-util.ts';

export type CertSource = 'local-ca' | 'files' | 'acme' | 'ca' | 'client';

export interface CertificateInfo {
  source: CertSource;
  subject: string;
  issuer: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  /** AA:BB:… upper case, like node's X509Certificate.fingerprint256 */
  fingerprint256: string;
  serial: string;
}

const DAY_MS = 86_400_000;

/** One-line distinguished name: "CN=localhost, O=Ollama Warden". */
export function dnText(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

export function describeCertificate(pem: string, source: CertSource, now: Date = new Date()): CertificateInfo {
  const cert = new X509Certificate(pem);
  const notAfter = new Date(cert.validTo);
  return {
    source,
    subject: dnText(cert.subject),
    issuer: dnText(cert.issuer),
    sans: certSans(pem),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    fingerprint256: cert.fingerprint256,
    serial: cert.serialNumber.toLowerCase(),
  };
}

/** The point in a certificate's life when Warden replaces it: 2/3 of the way (as certbot and
 *  Caddy do), leaving a third of the lifetime to retry a failed renewal. */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  return new Date(notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3);
}
