// The certificate in service and the listeners told when it changes. A certificate source
// hands over a new pair (a renewal, a replaced file, an ACME order) and every listener gets the
// full new context for server.setSecureContext; open connections keep the one they were made with.
import type { ServerOptions } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { TlsProfile } from './profile.ts';
import type { ServingPair, TlsLog } from './types.ts';

export class ServingCert {
  private readonly profile: TlsProfile;
  private readonly clientCaPem: string | null;
  private readonly log: TlsLog;
  private readonly listeners: Array<(o: SecureContextOptions) => void> = [];
  private pair: ServingPair | null = null;

  /** clientCaPem: the CA client certificates are requested for (mutual TLS), or null. */
  constructor(profile: TlsProfile, clientCaPem: string | null, log: TlsLog) {
    this.profile = profile;
    this.clientCaPem = clientCaPem;
    this.log = log;
  }

  get current(): ServingPair {
    if (!this.pair) throw new Error('no certificate in service yet');
    return this.pair;
  }

  /** The source's first pair, before any listener exists. */
  use(pair: ServingPair): void {
    this.pair = pair;
  }

  /** What a source calls with a new pair: it goes into service for new handshakes at once. */
  readonly swap = (pair: ServingPair): void => {
    this.pair = pair;
    const o = this.contextOptions();
    for (const cb of this.listeners) {
      try {
        cb(o);
      } catch (err) {
        this.log('error', `tls: applying the new certificate failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  onChange(cb: (o: SecureContextOptions) => void): void {
    this.listeners.push(cb);
  }

  /** For https.createServer: the profile, the certificate, and the client-certificate request.
   *  `hooks` are a source's own handshake hooks (ACME's TLS-ALPN-01). */
  serverOptions(hooks: ServerOptions = {}): ServerOptions {
    const { current } = this;
    return {
      ...this.profile,
      cert: current.certPem,
      key: current.keyPem,
      ...(this.clientCaPem ? { ca: this.clientCaPem, requestCert: true } : { requestCert: false }),
      // The handshake never fails on a client certificate: checkClientCert decides per request,
      // so every refusal can be answered with a reason and written to the audit log.
      rejectUnauthorized: false,
      ...hooks,
    };
  }

  private contextOptions(): SecureContextOptions {
    // handshakeTimeout is the server's, not the secure context's.
    const { handshakeTimeout: _ht, ...contextProfile } = this.profile;
    return { ...contextProfile, cert: this.current.certPem, key: this.current.keyPem, ...(this.clientCaPem ? { ca: this.clientCaPem } : {}) };
  }
}
