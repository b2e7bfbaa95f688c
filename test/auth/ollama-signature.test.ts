// The stock ollama CLI's signature, checked against keys made by the real `ssh-keygen`
// (openssh-client) and a signer that does what ollama's Go code does (auth/auth.go Sign,
// api/client.go do): sign `METHOD,PATH?ts=NOW` with ~/.ollama/id_ed25519 and send
// `Authorization: <base64 ssh-wire pubkey>:<base64 signature>` with `?ts=NOW` on the URL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractCredential, type Credential } from '../../src/auth/credentials.ts';
import {
  compileOllamaKeyring,
  parseOllamaPubkey,
  verifyOllamaSignature,
  OLLAMA_SIGNATURE_SKEW_SECONDS,
} from '../../src/auth/ollama-signature.ts';
import { createReplayCache } from '../../src/auth/replay-cache.ts';
import { WardenError } from '../../src/errors.ts';
import { startCaptureServer, type CaptureServer } from './capture-server.ts';

type SigCred = Extract<Credential, { kind: 'ollama-signature' }>;

let dir: string;
let srv: CaptureServer;
let sshPub: string; // contents of id_ed25519.pub, as `cat ~/.ollama/id_ed25519.pub` prints it
let sshPriv: KeyObject;

/** Read an unencrypted OpenSSH ed25519 private key (PROTOCOL.key), as Go's ssh.ParsePrivateKey does.
 *  Node cannot read this format and OpenSSH 9 will not export ed25519 keys as PKCS#8. */
function readOpenSshEd25519(pem: string): KeyObject {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  const magic = 'openssh-key-v1\0';
  assert.equal(buf.subarray(0, magic.length).toString('latin1'), magic);
  let off = magic.length;
  const str = (): Buffer => {
    const len = buf.readUInt32BE(off);
    const out = buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return out;
  };
  assert.equal(str().toString(), 'none', 'cipher');
  assert.equal(str().toString(), 'none', 'kdf');
  str(); // kdf options
  assert.equal(buf.readUInt32BE(off), 1, 'one key');
  off += 4;
  str(); // public key blob
  const priv = str();
  const p = { buf: priv, off: 8 }; // skip the two check integers
  const pstr = (): Buffer => {
    const len = p.buf.readUInt32BE(p.off);
    const out = p.buf.subarray(p.off + 4, p.off + 4 + len);
    p.off += 4 + len;
    return out;
  };
  assert.equal(pstr().toString(), 'ssh-ed25519');
  const pub = pstr();
  const secret = pstr(); // seed (32) || public (32)
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: secret.subarray(0, 32).toString('base64url'), x: pub.toString('base64url') },
    format: 'jwk',
  });
}

/** What ollama's auth.Sign returns for `challenge`. */
function ollamaToken(pubLine: string, priv: KeyObject, challenge: string): string {
  const blob = pubLine.split(' ')[1] ?? '';
  return `${blob}:${sign(null, Buffer.from(challenge), priv).toString('base64')}`;
}

function wireBlobFromNodeKey(pub: KeyObject): string {
  const raw = Buffer.from(pub.export({ format: 'jwk' }).x ?? '', 'base64url');
  return Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), raw]).toString('base64');
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ollama-sig-'));
  const keyPath = path.join(dir, 'id_ed25519');
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', keyPath], { stdio: 'pipe' });
  } catch (err) {
    // No skip: without openssh-client this suite cannot prove compatibility, so it fails loudly.
    throw new Error('ssh-keygen (Debian package openssh-client) is required for these tests', { cause: err });
  }
  sshPub = fs.readFileSync(`${keyPath}.pub`, 'utf8');
  sshPriv = readOpenSshEd25519(fs.readFileSync(keyPath, 'utf8'));
  srv = await startCaptureServer();
});

after(async () => {
  await srv?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a real ssh-keygen .pub line parses (type, blob, comment stripped)', () => {
  const k = parseOllamaPubkey(sshPub);
  const [type, blob] = sshPub.trim().split(' ');
  assert.equal(type, 'ssh-ed25519');
  assert.equal(k.blob, blob);
  assert.equal(k.text, `ssh-ed25519 ${blob}`);
  assert.equal(k.keyObject.asymmetricKeyType, 'ed25519');
  assert.deepEqual(parseOllamaPubkey(blob ?? '').blob, k.blob, 'the bare blob is accepted too');
});

const badPubkeys: Array<[string, string]> = [
  ['an RSA key is refused (ollama only uses ed25519)', `ssh-rsa ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(8)]).toString('base64')}`],
  ['a blob whose inner type says ssh-rsa under an ssh-ed25519 label is refused', `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32)]).toString('base64')}`],
  ['a truncated blob is refused', `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(31)]).toString('base64')}`],
  ['trailing bytes after the key are refused', `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(33)]).toString('base64')}`],
  ['text that is not base64 is refused', 'ssh-ed25519 not*base64'],
  ['an empty string is refused', ''],
  ['a private key pasted by mistake is refused', `-----BEGIN OPENSSH ${'PRIVATE'} KEY-----`],
];
for (const [name, text] of badPubkeys) {
  test(`parseOllamaPubkey: ${name}`, () => {
    assert.throws(() => parseOllamaPubkey(text), (err: unknown) => err instanceof WardenError && err.status === 400);
  });
}

/** Send the request the CLI would send over real HTTP, and extract the credential from what Node parsed. */
async function cliRequest(method: string, apiPath: string, ts: number, token: string): Promise<SigCred> {
  const c = await srv.send(`${method} ${apiPath}?ts=${ts} HTTP/1.1\r\nAuthorization: ${token}`);
  assert.ok(c);
  const cred = extractCredential(c.headers, c.rawHeaders, c.url, c.method);
  assert.equal(cred.kind, 'ollama-signature', JSON.stringify(cred));
  return cred as SigCred;
}

test('a request signed like the stock CLI, with the ssh-keygen key, verifies', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cred = await cliRequest('POST', '/api/chat', now, ollamaToken(sshPub, sshPriv, `POST,/api/chat?ts=${now}`));
  const ring = compileOllamaKeyring([sshPub]);
  assert.deepEqual(verifyOllamaSignature(cred, ring, now), { ok: true, blob: parseOllamaPubkey(sshPub).blob });
});

test('a request signed with a node-generated ed25519 key verifies (HEAD / heartbeat)', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const line = `ssh-ed25519 ${wireBlobFromNodeKey(publicKey)} node`;
  const now = Math.floor(Date.now() / 1000);
  const cred = await cliRequest('HEAD', '/', now, ollamaToken(line, privateKey, `HEAD,/?ts=${now}`));
  assert.equal(verifyOllamaSignature(cred, compileOllamaKeyring([line]), now).ok, true);
});

test('ts is accepted at exactly ±300 s of now', async () => {
  const now = 2_000_000_000;
  const ring = compileOllamaKeyring([sshPub]);
  for (const ts of [now - OLLAMA_SIGNATURE_SKEW_SECONDS, now + OLLAMA_SIGNATURE_SKEW_SECONDS]) {
    const cred = await cliRequest('GET', '/api/tags', ts, ollamaToken(sshPub, sshPriv, `GET,/api/tags?ts=${ts}`));
    assert.equal(verifyOllamaSignature(cred, ring, now).ok, true, `ts ${ts - now}`);
  }
});

test('refusals: each way a forged or stale signature fails', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const ring = compileOllamaKeyring([sshPub]);
  const other = generateKeyPairSync('ed25519');
  const otherLine = `ssh-ed25519 ${wireBlobFromNodeKey(other.publicKey)}`;
  const cases: Array<{ name: string; method: string; path: string; ts: number; token: string; want: RegExp }> = [
    { name: 'a signature older than 300 s is refused (stale capture)', method: 'GET', path: '/api/tags', ts: now - 301, token: ollamaToken(sshPub, sshPriv, `GET,/api/tags?ts=${now - 301}`), want: /ts/ },
    { name: 'a ts more than 300 s ahead is refused (pre-computed signature)', method: 'GET', path: '/api/tags', ts: now + 301, token: ollamaToken(sshPub, sshPriv, `GET,/api/tags?ts=${now + 301}`), want: /ts/ },
    { name: 'an unregistered public key is refused', method: 'GET', path: '/api/tags', ts: now, token: ollamaToken(otherLine, other.privateKey, `GET,/api/tags?ts=${now}`), want: /not registered/ },
    { name: 'a registered public key with a signature by another key is refused', method: 'GET', path: '/api/tags', ts: now, token: `${parseOllamaPubkey(sshPub).blob}:${sign(null, Buffer.from(`GET,/api/tags?ts=${now}`), other.privateKey).toString('base64')}`, want: /does not verify/ },
    { name: 'a signature for another path is refused (GET /api/tags reused on POST /api/delete)', method: 'DELETE', path: '/api/delete', ts: now, token: ollamaToken(sshPub, sshPriv, `GET,/api/tags?ts=${now}`), want: /does not verify/ },
    { name: 'a signature for another method is refused', method: 'POST', path: '/api/tags', ts: now, token: ollamaToken(sshPub, sshPriv, `GET,/api/tags?ts=${now}`), want: /does not verify/ },
    { name: 'a signature for another ts is refused (ts edited in the URL)', method: 'GET', path: '/api/tags', ts: now - 1, token: ollamaToken(sshPub, sshPriv, `GET,/api/tags?ts=${now}`), want: /does not verify/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const cred = await cliRequest(c.method, c.path, c.ts, c.token);
      const v = verifyOllamaSignature(cred, ring, now);
      assert.equal(v.ok, false);
      if (!v.ok) assert.match(v.reason, c.want);
    });
  }
});

test('a replayed signature (same key, same signature, within the window) is refused', async () => {
  const now = Math.floor(Date.now() / 1000);
  const ring = compileOllamaKeyring([sshPub]);
  const replay = createReplayCache();
  const token = ollamaToken(sshPub, sshPriv, `POST,/api/generate?ts=${now}`);
  const first = await cliRequest('POST', '/api/generate', now, token);
  if (first.kind !== 'ollama-signature') assert.fail('not a signature');
  assert.equal(verifyOllamaSignature(first, ring, now).ok, true);
  assert.equal(await replay.claim(first.publicKey, first.signature, first.ts, now), false);
  const again = await cliRequest('POST', '/api/generate', now, token);
  if (again.kind !== 'ollama-signature') assert.fail('not a signature');
  assert.equal(verifyOllamaSignature(again, ring, now + 5).ok, true, 'the signature itself still verifies');
  assert.equal(await replay.claim(again.publicKey, again.signature, again.ts, now + 5), true, 'but it was used');
  // a fresh signature from the same key is fine
  const next = await cliRequest('POST', '/api/generate', now + 1, ollamaToken(sshPub, sshPriv, `POST,/api/generate?ts=${now + 1}`));
  if (next.kind !== 'ollama-signature') assert.fail('not a signature');
  assert.equal(verifyOllamaSignature(next, ring, now + 5).ok, true);
  assert.equal(await replay.claim(next.publicKey, next.signature, next.ts, now + 5), false);
});
