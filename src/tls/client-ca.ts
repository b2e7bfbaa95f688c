// The CA client certificates are checked against when mutual TLS is on: tls.clientCA, or
// Warden's own local CA when none is set. Read and parsed once at start-up; a file without a
// usable certificate stops start-up with a message naming tls.clientCA.
import type { Config } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import type { LocalCa } from './local-ca.ts';
import { ClientCertVerifier } from './client-verify.ts';
import { readFieldFile, tlsFieldError } from './files.ts';
import { splitPemCerts } from './x509-util.ts';

export interface ClientCa {
  path: string;
  pem: string;
  verifier: ClientCertVerifier;
}

/** null when tls.clientAuth is off. `ca` is the local CA, which exists when tls.clientCA is unset. */
export function loadClientCa(tls: Config['tls'], dataDir: string, ca: LocalCa | null): ClientCa | null {
  if (tls.clientAuth === 'off') return null;
  const path = tls.clientCA ? resolveDataPath(dataDir, tls.clientCA) : ca!.certPath;
  const pem = tls.clientCA ? readFieldFile(path, 'tls.clientCA') : ca!.certPem;
  if (splitPemCerts(pem).length === 0) throw tlsFieldError('tls.clientCA', `${path} contains no PEM certificate`);
  try {
    return { path, pem, verifier: new ClientCertVerifier(pem) };
  } catch (err) {
    throw tlsFieldError('tls.clientCA', `${path} contains a certificate that cannot be parsed`, err);
  }
}
