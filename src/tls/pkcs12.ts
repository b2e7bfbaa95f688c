// PKCS#12 (.p12/.pfx) bundles for client certificates, for browsers, curl on macOS/Windows and
// the Windows certificate store. The structures are built with asn1js (the ASN.1 layer under
// @peculiar/x509, so all of Warden's X.509 work uses one toolkit) and the cryptography is
// node:crypto's. Algorithms are the modern ones OpenSSL 3 reads without its legacy provider:
// PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC) for the key and an HMAC-SHA256 MAC (RFC 7292 with
// RFC 9579's algorithm choices; the MAC key still comes from RFC 7292's own KDF, because
// PBMAC1 is not read by OpenSSL before 3.4 nor by Windows).
import * as asn1 from 'asn1js';
import { createCipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, randomBytes, X509Certificate } from 'node:crypto';

// OpenSSL's own default. The password is 143 random bits (see client-certs.ts), so key
// stretching adds nothing.
const ITERATIONS = 2048;

const OID = {
  data: '1.2.840.113549.1.7.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
  friendlyName: '1.2.840.113549.1.9.20',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  sha256: '2.16.840.1.101.3.4.2.1',
};

type Node = asn1.AsnType;
const seq = (...value: Node[]): asn1.Sequence => new asn1.Sequence({ value });
const set = (...value: Node[]): asn1.Set => new asn1.Set({ value });
const oid = (value: string): asn1.ObjectIdentifier => new asn1.ObjectIdentifier({ value });
const octets = (bytes: Buffer): asn1.OctetString => new asn1.OctetString({ valueHex: bytes });
const int = (value: number): asn1.Integer => new asn1.Integer({ value });
/** [0] EXPLICIT */
const explicit0 = (inner: Node): asn1.Constructed => new asn1.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [inner] });
const der = (node: Node): Buffer => Buffer.from(node.toBER(false));
/** PKCS#7 ContentInfo of type data around `inner`'s DER. */
const dataContent = (inner: Node): asn1.Sequence => seq(oid(OID.data), explicit0(octets(der(inner))));

/**
 * RFC 7292 appendix B.2: the PKCS#12 key derivation, for the MAC key (ID 3). The password is
 * a BMPString with its two-byte terminator; node:crypto has no such KDF.
 */
export function pkcs12Kdf(password: string, salt: Buffer, id: number, iterations: number, length: number): Buffer {
  const u = 32; // SHA-256 output
  const v = 64; // SHA-256 block
  const pass = Buffer.from(password + '\0', 'utf16le').swap16(); // UTF-16BE with terminator
  const fill = (b: Buffer): Buffer => (b.length === 0 ? b : Buffer.alloc(v * Math.ceil(b.length / v), b));
  const I = Buffer.concat([fill(salt), fill(pass)]);
  const D = Buffer.alloc(v, id);
  const out: Buffer[] = [];
  for (let made = 0; made < length; made += u) {
    let A = createHash('sha256').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash('sha256').update(A).digest();
    out.push(A);
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block, B = A repeated to v bytes.
    const B = Buffer.alloc(v, A);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, length);
}

/** EncryptedPrivateKeyInfo with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC). */
function shroud(pkcs8: Buffer, password: string): asn1.Sequence {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const pbkdf2Params = seq(octets(salt), int(ITERATIONS), seq(oid(OID.hmacWithSha256), new asn1.Null()));
  const pbes2Params = seq(seq(oid(OID.pbkdf2), pbkdf2Params), seq(oid(OID.aes256Cbc), octets(iv)));
  return seq(seq(oid(OID.pbes2), pbes2Params), octets(encrypted));
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
  const certDers = input.certPems.map((pem) => new X509Certificate(pem).raw);
  const localKeyId = createHash('sha1').update(certDers[0]!).digest();
  const attrs = (): asn1.Set =>
    set(
      seq(oid(OID.localKeyId), set(octets(localKeyId))),
      seq(oid(OID.friendlyName), set(new asn1.BmpString({ value: input.friendlyName }))),
    );

  const certBags = certDers.map((certDer, i) =>
    seq(oid(OID.certBag), explicit0(seq(oid(OID.x509Certificate), explicit0(octets(certDer)))), ...(i === 0 ? [attrs()] : [])),
  );
  const pkcs8 = createPrivateKey(input.keyPem).export({ format: 'der', type: 'pkcs8' });
  const keyBag = seq(oid(OID.pkcs8ShroudedKeyBag), explicit0(shroud(pkcs8, input.password)), attrs());

  const authSafeDer = der(seq(dataContent(seq(...certBags)), dataContent(seq(keyBag))));

  // MacData: HMAC-SHA256 over the AuthenticatedSafe, keyed from the PKCS#12 KDF (ID 3).
  const macSalt = randomBytes(16);
  const macKey = pkcs12Kdf(input.password, macSalt, 3, ITERATIONS, 32);
  const mac = createHmac('sha256', macKey).update(authSafeDer).digest();
  const macData = seq(seq(seq(oid(OID.sha256), new asn1.Null()), octets(mac)), octets(macSalt), int(ITERATIONS));

  return der(seq(int(3), seq(oid(OID.data), explicit0(octets(authSafeDer))), macData));
}
