// PKCS#12 (.p12/.pfx) bundles for client certificates, for browsers, curl on macOS/Windows and
// the Windows certificate store. node-forge's toPkcs12Asn1 only wraps RSA keys, so the PFX is
// assembled here from forge's ASN.1 primitives around our ECDSA PKCS#8 key. Algorithms are the
// modern ones OpenSSL 3 reads without its legacy provider: PBES2 (PBKDF2-HMAC-SHA256 +
// AES-256-CBC) for the key, and an HMAC-SHA256 MAC (RFC 7292 + RFC 9579 practice).
import forge from 'node-forge';
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';

const { asn1, pki } = forge;
// OpenSSL's own default. The password is 143 random bits (see client-certs.ts), so key
// stretching adds nothing and more rounds of forge's pure-JS KDF only slow the CLI down.
const ITERATIONS = 2048;

function seq(items: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
}
function oid(o: string): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(o).getBytes());
}
function octets(bytes: string): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
}
function explicit0(inner: forge.asn1.Asn1): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);
}
function der(a: forge.asn1.Asn1): string {
  return asn1.toDer(a).getBytes();
}
/** PKCS#7 ContentInfo of type data wrapping `inner`'s DER. */
function dataContent(inner: forge.asn1.Asn1): forge.asn1.Asn1 {
  return seq([oid(pki.oids.data!), explicit0(octets(der(inner)))]);
}

export interface Pkcs12Input {
  /** PEM private key (any format node reads) */
  keyPem: string;
  /** leaf first, then the issuing CA */
  certPems: string[];
  password: string;
  friendlyName: string;
}

export function buildPkcs12(input: Pkcs12Input): Buffer {
  const leafDer = Buffer.from(pki.pemToDer(input.certPems[0]!).getBytes(), 'binary');
  const localKeyId = createHash('sha1').update(leafDer).digest().toString('binary');
  const attrs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
    seq([oid(pki.oids.localKeyId!), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [octets(localKeyId)])]),
    seq([oid(pki.oids.friendlyName!), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, input.friendlyName)])]),
  ]);

  const certBags = input.certPems.map((pem, i) =>
    seq([
      oid(pki.oids.certBag!),
      explicit0(seq([oid(pki.oids.x509Certificate!), explicit0(octets(pki.pemToDer(pem).getBytes()))])),
      ...(i === 0 ? [attrs] : []),
    ]),
  );

  const pkcs8 = createPrivateKey(input.keyPem).export({ format: 'der', type: 'pkcs8' }).toString('binary');
  const keyInfo = asn1.fromDer(pkcs8);
  const encrypted = pki.encryptPrivateKeyInfo(keyInfo, input.password, { algorithm: 'aes256', prfAlgorithm: 'sha256', count: ITERATIONS, saltSize: 16 });
  const keyBag = seq([oid(pki.oids.pkcs8ShroudedKeyBag!), explicit0(encrypted), attrs]);

  const authSafe = seq([dataContent(seq(certBags)), dataContent(seq([keyBag]))]);
  const authSafeDer = der(authSafe);

  // MacData with HMAC-SHA256; the MAC key comes from the PKCS#12 KDF (RFC 7292 B.2, ID 3).
  const macSalt = randomBytes(16).toString('binary');
  const macKey = forge.pkcs12.generateKey(input.password, forge.util.createBuffer(macSalt), 3, ITERATIONS, 32, forge.md.sha256.create());
  const hmac = forge.hmac.create();
  hmac.start('sha256', macKey.getBytes());
  hmac.update(authSafeDer);
  const macData = seq([
    seq([seq([oid(pki.oids.sha256!), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]), octets(hmac.digest().getBytes())]),
    octets(macSalt),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(ITERATIONS).getBytes()),
  ]);

  const pfx = seq([asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes()), seq([oid(pki.oids.data!), explicit0(octets(authSafeDer))]), macData]);
  return Buffer.from(der(pfx), 'binary');
}
