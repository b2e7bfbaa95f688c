// The stock `ollama` CLI's own request signature (OLLAMA_AUTH=1), so users can keep the CLI they
// have (docs/design.md §3). What the CLI does, from ollama/ollama:
//
//   api/client.go  do()/stream():
//     now  := strconv.FormatInt(time.Now().Unix(), 10)
//     chal := fmt.Sprintf("%s,%s?ts=%s", method, path, now)     // e.g. "POST,/api/chat?ts=1767225600"
//     token := auth.Sign(ctx, []byte(chal))
//     URL gets ?ts=<now>;  header  Authorization: <token>        (no scheme word)
//   auth/auth.go  Sign():
//     key  := ~/.ollama/id_ed25519 (OpenSSH ed25519)
//     token = "<base64 ssh-wire public key>:<base64 std of the raw 64-byte Ed25519 signature>"
//
// The public key part is the middle field of `ssh-ed25519 AAAA… comment` (the authorized_keys
// line `cat ~/.ollama/id_ed25519.pub` prints), which is what `warden keys create --ollama-pubkey`
// registers. Keys are parsed into KeyObjects once, when the key cache is built; the request path
// only does a Map lookup and one Ed25519 verify.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ErrorCode, WardenError } from '../errors.ts';
import type { Credential } from './credentials.ts';

/** ±this many seconds between the CLI's `ts` and our clock (docs/design.md §3). */
export const OLLAMA_SIGNATURE_SKEW_SECONDS = 300;

const KEY_TYPE = 'ssh-ed25519';

export interface OllamaPubkey {
  /** canonical base64 of the ssh-wire public key: the lookup key for incoming signatures */
  blob: string;
  /** `ssh-ed25519 <blob>`, comment stripped: the form stored on the key record */
  text: string;
  keyObject: KeyObject;
}

function invalid(reason: string): WardenError {
  return new WardenError(
    ErrorCode.USAGE,
    `invalid ollama public key (${reason}); expected the line in ~/.ollama/id_ed25519.pub: "ssh-ed25519 AAAA… [comment]"`,
    { reason: `ollama pubkey: ${reason}` },
  );
}

/** ssh-wire (RFC 4253 §6.6, RFC 8709 §4): string "ssh-ed25519", string <32-byte key>. */
function rawEd25519FromWire(wire: Buffer): Buffer {
  let off = 0;
  const readString = (): Buffer => {
    if (off + 4 > wire.length) throw invalid('truncated key blob');
    const len = wire.readUInt32BE(off);
    off += 4;
    if (off + len > wire.length) throw invalid('truncated key blob');
    const out = wire.subarray(off, off + len);
    off += len;
    return out;
  };
  const type = readString().toString('latin1');
  if (type !== KEY_TYPE) throw invalid(`key type is ${JSON.stringify(type.slice(0, 32))}, only ssh-ed25519 is used by ollama`);
  const raw = readString();
  if (raw.length !== 32) throw invalid('ed25519 key must be 32 bytes');
  if (off !== wire.length) throw invalid('trailing bytes after the key');
  return raw;
}

/** Parse `ssh-ed25519 AAAA… [comment]` (or the bare base64 blob). Throws WardenError (400) when invalid. */
export function parseOllamaPubkey(text: string): OllamaPubkey {
  const fields = text.trim().split(/\s+/);
  let b64: string | undefined;
  if (fields[0] === KEY_TYPE) b64 = fields[1];
  else if (fields.length === 1 && fields[0]?.startsWith('AAAA')) b64 = fields[0];
  else throw invalid('it must start with ssh-ed25519');
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw invalid('the key is not base64');
  const wire = Buffer.from(b64, 'base64');
  const raw = rawEd25519FromWire(wire);
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (cause) {
    throw new WardenError(ErrorCode.USAGE, 'invalid ollama public key (not an Ed25519 point)', { cause });
  }
  const blob = wire.toString('base64');
  return { blob, text: `${KEY_TYPE} ${blob}`, keyObject };
}

/** blob → verifier, built once from the registered `ssh-ed25519 …` strings of the key records. */
export type OllamaKeyring = ReadonlyMap<string, KeyObject>;

/** Build the keyring for a set of registered keys (`ssh-ed25519 AAAA…` strings). Invalid entries throw. */
export function compileOllamaKeyring(pubkeys: Iterable<string>): Map<string, KeyObject> {
  const ring = new Map<string, KeyObject>();
  for (const text of pubkeys) {
    const k = parseOllamaPubkey(text);
    ring.set(k.blob, k.keyObject);
  }
  return ring;
}

export type OllamaVerdict = { ok: true; blob: string } | { ok: false; reason: string };

/**
 * Verify one ollama-signature credential. Refusals all answer 401 to the client; `reason` is for
 * the audit log only. Order: clock (cheap) → registered? → Ed25519. The replay check comes after
 * (replay-cache.ts, asynchronous: it asks the store), so only genuine signatures take room there.
 *
 * `registered`: the keyring from compileOllamaKeyring, built when the key cache loads.
 * `nowSeconds`: Unix SECONDS (not Date.now() milliseconds).
 */
export function verifyOllamaSignature(
  cred: Extract<Credential, { kind: 'ollama-signature' }>,
  registered: OllamaKeyring,
  nowSeconds: number,
): OllamaVerdict {
  if (Math.abs(nowSeconds - cred.ts) > OLLAMA_SIGNATURE_SKEW_SECONDS) {
    return { ok: false, reason: `ollama signature: ts ${cred.ts} is more than ${OLLAMA_SIGNATURE_SKEW_SECONDS}s from now` };
  }
  const keyObject = registered.get(cred.publicKey);
  if (!keyObject) return { ok: false, reason: 'ollama signature: public key not registered' };
  let good: boolean;
  try {
    good = cred.signature.length === 64 && verify(null, Buffer.from(cred.signedData, 'utf8'), keyObject, cred.signature);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'ollama signature: signature does not verify' };
  return { ok: true, blob: cred.publicKey };
}
