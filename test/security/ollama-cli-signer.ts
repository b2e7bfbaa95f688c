// What the stock `ollama` CLI does with OLLAMA_AUTH=1, line for line (there is no Debian or npm
// package of the Go CLI to run instead; the npm `ollama` package is ollama-js, which does not sign):
//
//   api/client.go do()/stream():
//     requestURL := c.base.JoinPath(path)
//     now := strconv.FormatInt(time.Now().Unix(), 10)
//     chal := fmt.Sprintf("%s,%s?ts=%s", method, path, now)
//     token, err = getAuthorizationToken(ctx, chal)          // auth.Sign
//     q := requestURL.Query(); q.Set("ts", now); requestURL.RawQuery = q.Encode()
//     request.Header.Set("Authorization", token)
//   auth/auth.go Sign():
//     privateKey := ssh.ParsePrivateKey(~/.ollama/id_ed25519)
//     publicKey := ssh.MarshalAuthorizedKey(privateKey.PublicKey()); parts := bytes.Split(publicKey, " ")
//     signedData := privateKey.Sign(rand.Reader, bts)          // ed25519: the raw 64-byte signature
//     return fmt.Sprintf("%s:%s", bytes.TrimSpace(parts[1]), base64.StdEncoding.EncodeToString(signedData.Blob))
//
// The key is made by the real `ssh-keygen -t ed25519` (Debian openssh-client), as `ollama serve`
// would have made it, and read from the OpenSSH private key file as Go's ssh.ParsePrivateKey does
// (Node cannot read that format, and OpenSSH will not export ed25519 keys as PKCS#8).
import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SignedRequest {
  /** path + `?ts=NOW` (merged into any existing query, as url.Values.Encode does) */
  url: string;
  headers: Record<string, string>;
}

/** Creates `<home>/.ollama/id_ed25519` with ssh-keygen, as the ollama server does on first start. */
export function makeOllamaKey(home: string, comment = 'ollama'): string {
  const dir = join(home, '.ollama');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const keyPath = join(dir, 'id_ed25519');
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', keyPath], { stdio: 'pipe' });
  } catch (err) {
    // No skip: without openssh-client the suite cannot prove compatibility, so it fails loudly.
    throw new Error('ssh-keygen (Debian package openssh-client) is required for these tests', { cause: err });
  }
  return keyPath;
}

/** PROTOCOL.key (openssh-key-v1), unencrypted, one ed25519 key. */
function parseOpenSshEd25519(pem: string): { priv: KeyObject; wire: Buffer } {
  const buf = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (buf.subarray(0, magic.length).toString('latin1') !== magic) throw new Error('not an OpenSSH private key');
  const str = (b: Buffer, at: { off: number }): Buffer => {
    const len = b.readUInt32BE(at.off);
    const out = b.subarray(at.off + 4, at.off + 4 + len);
    at.off += 4 + len;
    return out;
  };
  const at = { off: magic.length };
  if (str(buf, at).toString() !== 'none' || str(buf, at).toString() !== 'none') throw new Error('encrypted keys are not supported here');
  str(buf, at); // kdf options
  if (buf.readUInt32BE(at.off) !== 1) throw new Error('expected one key');
  at.off += 4;
  const wire = Buffer.from(str(buf, at)); // ssh-wire public key: what MarshalAuthorizedKey base64-encodes
  const privBlock = str(buf, at);
  const p = { off: 8 }; // two check integers
  if (str(privBlock, p).toString() !== 'ssh-ed25519') throw new Error('not an ed25519 key');
  const pub = str(privBlock, p);
  const secret = str(privBlock, p); // seed (32) || public (32)
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: secret.subarray(0, 32).toString('base64url'), x: pub.toString('base64url') }, format: 'jwk' });
  return { priv, wire };
}

export class OllamaCliSigner {
  readonly publicKeyBlob: string;
  private readonly priv: KeyObject;

  constructor(keyPath: string) {
    const { priv, wire } = parseOpenSshEd25519(readFileSync(keyPath, 'utf8'));
    this.priv = priv;
    this.publicKeyBlob = wire.toString('base64');
  }

  /** auth.Sign(ctx, []byte(challenge)) */
  token(challenge: string): string {
    return `${this.publicKeyBlob}:${sign(null, Buffer.from(challenge), this.priv).toString('base64')}`;
  }

  private readonly used = new Set<string>();

  /** A timestamp this signer has not yet used for `method path`: Warden refuses an exact replay,
   *  and the real CLI's identical calls within one second would be one. Tests that are not about
   *  replays get a fresh signature by stepping back a second (still well inside ±300 s). */
  private freshTs(method: string, path: string): number {
    let ts = Math.floor(Date.now() / 1000);
    while (this.used.has(`${method},${path},${ts}`)) ts--;
    return ts;
  }

  /** client.do / client.stream for `method path` at Unix time `now` (seconds). */
  sign(method: string, path: string, now?: number, stream = false): SignedRequest {
    const at = now ?? this.freshTs(method, path);
    this.used.add(`${method},${path},${at}`);
    const ts = String(at);
    const token = this.token(`${method},${path}?ts=${ts}`);
    const q = path.indexOf('?');
    const params = new URLSearchParams(q === -1 ? '' : path.slice(q + 1));
    params.set('ts', ts);
    // url.Values.Encode sorts by key
    const sorted = new URLSearchParams([...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return {
      url: `${q === -1 ? path : path.slice(0, q)}?${sorted.toString()}`,
      headers: {
        'content-type': 'application/json',
        accept: stream ? 'application/x-ndjson' : 'application/json',
        'user-agent': 'ollama/0.12.0 (amd64 linux) Go/go1.24.0',
        authorization: token,
      },
    };
  }
}
