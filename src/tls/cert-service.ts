// Client-certificate management: the one place that issues and revokes client certificates and
// writes their audit events. The CLI and the admin API both call it, so the audit trail is the
// same whoever acts (as src/auth/key-service.ts is for keys).
import type { ClientCertRecord, ClientCertRepo } from '../store/types.ts';
import type { AuditInput } from '../audit/writer.ts';
import { issueClientCert, listClientCerts, revokeClientCert, type IssuedClientCert } from './client-certs.ts';

export interface ClientCertServiceOptions {
  /** where the CA, crl.pem and issued certificates live */
  tlsDir: string;
  store: ClientCertRepo;
  audit: (e: AuditInput) => void;
}

export class ClientCertService {
  private readonly opts: ClientCertServiceOptions;

  constructor(opts: ClientCertServiceOptions) {
    this.opts = opts;
  }

  /** Issues NAME's certificate. With `outDir` the key and bundle are written there (the CLI);
   *  without, they exist only in the return value (the admin API). */
  async issue(input: { name: string; days?: number; outDir?: string }, actor: string): Promise<IssuedClientCert> {
    const issued = await issueClientCert({ tlsDir: this.opts.tlsDir, store: this.opts.store, ...input });
    this.opts.audit({ kind: 'cert.issue', actor, reason: `client certificate ${issued.record.name} serial ${issued.record.serial}` });
    return issued;
  }

  /** Revokes by name or serial and re-signs the CRL; running servers refuse it within ~1 s. */
  async revoke(nameOrSerial: string, actor: string): Promise<ClientCertRecord> {
    const record = await revokeClientCert({ tlsDir: this.opts.tlsDir, store: this.opts.store, nameOrSerial });
    this.opts.audit({ kind: 'cert.revoke', actor, reason: `client certificate ${record.name} serial ${record.serial}` });
    return record;
  }

  list(): ReturnType<typeof listClientCerts> {
    return listClientCerts(this.opts.store);
  }
}
