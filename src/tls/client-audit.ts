// Turns a client-certificate check into the one verdict every caller uses (the handshake, each
// request, the re-check after a revocation) and the audit fields docs/design.md §2/§6 ask for: every
// refusal (none when required, unknown CA, expired, not yet valid, revoked, wrong purpose) with
// its reason, worded the same wherever it is written.
import type { ClientCertCheck } from './client-verify.ts';

export type ClientAuthMode = 'off' | 'optional' | 'require';

export interface ClientCertVerdict {
  /** false → answer 401/403 and write an audit event of kind 'tls.client_cert_refused' */
  allowed: boolean;
  /** audit `reason`, e.g. "client certificate refused: revoked" */
  reason: string | null;
  /** audit `clientCertSubject` */
  subject: string | null;
  /** for key binding (KeyRecord.certFingerprint): hex lower case, no colons */
  fingerprint: string | null;
}

/** Applies the clientAuth mode to a checkClientCert result. With `optional`, a request without a
 *  certificate is allowed here (it still needs an API key); a certificate that is presented but
 *  bad is always refused, whatever the mode — silently ignoring it would hide an attack. */
export function clientCertVerdict(mode: ClientAuthMode, check: ClientCertCheck): ClientCertVerdict {
  if (mode === 'off') return { allowed: true, reason: null, subject: null, fingerprint: null };
  if (check.state === 'ok') return { allowed: true, reason: null, subject: check.subject, fingerprint: check.fingerprint };
  if (check.state === 'none')
    return mode === 'require'
      ? { allowed: false, reason: 'client certificate required', subject: null, fingerprint: null }
      : { allowed: true, reason: null, subject: null, fingerprint: null };
  return { allowed: false, reason: `client certificate refused: ${check.reason}`, subject: check.subject ?? null, fingerprint: null };
}
