// TLS-ALPN-01 (RFC 8737): while a challenge is pending for a name, a handshake for that name
// that offers only "acme-tls/1" gets the self-signed challenge certificate; everything else gets
// the normal certificate. The hooks go on the main listener (the CA connects to port 443).
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ServerOptions } from 'node:https';

export const ACME_TLS_PROTOCOL = 'acme-tls/1';

export class AlpnChallenges {
  #pending = new Map<string, SecureContext>();

  set(servername: string, certPem: string, keyPem: string): void {
    this.#pending.set(servername.toLowerCase(), createSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' }));
  }

  delete(servername: string): void {
    this.#pending.delete(servername.toLowerCase());
  }

  /** Options to merge into https.createServer's. */
  hooks(): Pick<ServerOptions, 'ALPNCallback' | 'SNICallback'> {
    return {
      ALPNCallback: ({ servername, protocols }) => {
        if (protocols.includes(ACME_TLS_PROTOCOL) && this.#pending.has((servername ?? '').toLowerCase())) return ACME_TLS_PROTOCOL;
        if (protocols.includes('http/1.1')) return 'http/1.1';
        return undefined; // no protocol we speak: refuse, like the default ALPNProtocols would
      },
      // SNI is resolved before ALPN, so the challenge context is chosen by name alone; it is only
      // registered for the seconds a validation is pending.
      SNICallback: (servername, cb) => cb(null, this.#pending.get(servername.toLowerCase())),
    };
  }
}
