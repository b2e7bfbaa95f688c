// One end-entity certificate signed by the local CA: a fresh P-256 key, not a CA, digital
// signature only, one extended key usage. Server and client certificates differ only in the
// subject, the purpose and (servers) the SANs.
import { caSigner, type LocalCa } from './local-ca.ts';
import { generateEcKey, loadX509, randomSerial, sanEntries, SIGNING_ALG } from './x509-util.ts';

export interface LeafSpec {
  subject: string;
  purpose: 'serverAuth' | 'clientAuth';
  notBefore: Date;
  notAfter: Date;
  /** DNS names / IPs (server certificates) */
  sans?: readonly string[];
}

export async function signLeafCert(ca: LocalCa, spec: LeafSpec): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const { cert: caCert, signingKey } = await caSigner(ca);
  const { keys, keyPem } = await generateEcKey();
  const eku = spec.purpose === 'serverAuth' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: spec.subject,
    issuer: caCert.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: SIGNING_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([eku], false),
      ...(spec.sans ? [new x509.SubjectAlternativeNameExtension(sanEntries(spec.sans), false)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem };
}
