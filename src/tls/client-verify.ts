// Decides, per request, whether the client certificate on a connection is acceptable. OpenSSL's
// verdict is fixed at handshake time; this re-checks against *now* — the clock (a long-lived
// keep-alive connection outlives the certificate) and the revoked set (a revocation must also cut
// connections opened before it, docs/design.md §2).
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { dnText } from './cert-info.ts';
import { fingerprintHex, splitPemCerts } from './x509-util.ts';
import { normalizeSerial } from '../store/serial.ts';

export type ClientCertRefusal = 'unknown CA' | 'expired' | 'not yet valid' | 'revoked' | 'wrong purpose';

export type ClientCertCheck =
  | { state: 'none' }
  | { state: 'ok'; subject: string; fingerprint: string; serial: string }
  | { state: 'refused'; reason: ClientCertRefusal; subject?: string };

const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/** OpenSSL verify errors (as node names them) mapped onto the refusal reasons. */
const OPENSSL_REASONS: Record<string, ClientCertRefusal> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not yet valid',
  CERT_REVOKED: 'revoked',
  INVALID_PURPOSE: 'wrong purpose',
};

export class ClientCertVerifier {
  #cas: X509Certificate[];
  #revoked: ReadonlySet<string> = new Set();
  /** fingerprint → issued by one of #cas (a signature check per request would be wasted work) */
  #issuedCache = new Map<string, boolean>();

  constructor(caPem: string) {
    this.#cas = splitPemCerts(caPem).map((p) => new X509Certificate(p));
  }

  setRevoked(serials: Iterable<string>): void {
    this.#revoked = new Set([...serials].map(normalizeSerial));
  }

  isRevoked(serial: string): boolean {
    return this.#revoked.has(normalizeSerial(serial));
  }

  #issuedByUs(cert: X509Certificate, fingerprint: string): boolean {
    let ok = this.#issuedCache.get(fingerprint);
    if (ok === undefined) {
      ok = this.#cas.some((ca) => {
        try {
          return cert.checkIssued(ca) && cert.verify(ca.publicKey);
        } catch {
          return false;
        }
      });
      if (this.#issuedCache.size > 10_000) this.#issuedCache.clear();
      this.#issuedCache.set(fingerprint, ok);
    }
    return ok;
  }

  /** Checks a certificate as presented (the socket's OpenSSL verdict is passed separately). */
  checkCertificate(cert: X509Certificate, now: Date = new Date(), opensslError?: string | null): ClientCertCheck {
    const subject = dnText(cert.subject);
    const fingerprint = fingerprintHex(cert);
    const serial = normalizeSerial(cert.serialNumber);
    if (!this.#issuedByUs(cert, fingerprint)) return { state: 'refused', reason: 'unknown CA', subject };
    if (this.#revoked.has(serial)) return { state: 'refused', reason: 'revoked', subject };
    if (now.getTime() > new Date(cert.validTo).getTime()) return { state: 'refused', reason: 'expired', subject };
    if (now.getTime() < new Date(cert.validFrom).getTime()) return { state: 'refused', reason: 'not yet valid', subject };
    const eku = cert.keyUsage as string[] | undefined;
    if (cert.ca || (eku && eku.length > 0 && !eku.includes(CLIENT_AUTH_EKU) && !eku.includes(ANY_EKU))) return { state: 'refused', reason: 'wrong purpose', subject };
    if (opensslError) {
      // Anything OpenSSL still objects to after our own checks passed: keep its reason if it
      // is one we know, otherwise treat the chain as untrusted.
      return { state: 'refused', reason: OPENSSL_REASONS[opensslError] ?? 'unknown CA', subject };
    }
    return { state: 'ok', subject, fingerprint, serial };
  }

  check(socket: TLSSocket, now: Date = new Date()): ClientCertCheck {
    const cert = socket.getPeerX509Certificate();
    if (!cert) return { state: 'none' };
    const err = socket.authorized ? null : (socket.authorizationError as unknown as string | Error | null);
    const code = err === null ? null : typeof err === 'string' ? err : ((err as { code?: string }).code ?? err.message);
    return this.checkCertificate(cert, now, code);
  }
}
