// The TLS protocol profile: which versions, suites, groups and options the listener offers.
// Computed once; the same object feeds https.createServer and every later setSecureContext, so
// a hot-reloaded certificate can never come back with weaker settings.
import { constants } from 'node:crypto';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

export type MinTlsVersion = '1.3' | '1.2';

/** TLS 1.3 suites (all AEAD; RFC 8446 §9.1 mandatory-to-implement first). */
export const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;

/** Mozilla "intermediate" TLS 1.2 suites minus the DHE ones: ECDHE key exchange + AEAD only.
 *  No CBC (Lucky13, POODLE-style padding oracles), no static RSA key exchange (ROBOT, no forward
 *  secrecy), no finite-field DHE (Logjam, Raccoon, slow-handshake DoS). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

/** Key-exchange groups, strongest-and-fastest first. */
export const ECDH_CURVES = 'X25519:P-256:P-384';

/** Options shared by https.createServer and tls.createSecureContext (no certificate in here). */
export type TlsProfile = Required<Pick<SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers' | 'ecdhCurve' | 'honorCipherOrder' | 'secureOptions'>> &
  Pick<TlsOptions, 'handshakeTimeout'>;

export function tlsProfile(minVersion: MinTlsVersion): TlsProfile {
  return Object.freeze({
    minVersion: minVersion === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    // Node takes TLS 1.3 suites (TLS_*) and TLS 1.2 ciphers in one string. The 1.2 list is
    // harmless when minVersion is 1.3: it is never negotiated.
    ciphers: [...TLS13_SUITES, ...TLS12_CIPHERS].join(':'),
    ecdhCurve: ECDH_CURVES,
    honorCipherOrder: true,
    secureOptions:
      constants.SSL_OP_NO_RENEGOTIATION | // CVE-2009-3555 and renegotiation DoS
      constants.SSL_OP_NO_COMPRESSION | // CRIME (CVE-2012-4929)
      // No stateless tickets: a ticket would let a client resume a session whose client
      // certificate has since expired or been revoked without presenting it again. Node keeps no
      // internal server session cache, so with tickets off every handshake is a full one.
      constants.SSL_OP_NO_TICKET |
      constants.SSL_OP_NO_SSLv3 |
      constants.SSL_OP_NO_TLSv1 |
      constants.SSL_OP_NO_TLSv1_1,
    // docs/design.md §2: handshake timeout 10 s (slow-handshake DoS).
    handshakeTimeout: 10_000,
  }) as TlsProfile;
}
