// Every case goes through a real node:http server: the request is written as raw bytes and the
// function sees exactly the headers/rawHeaders/url Node's parser produced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { extractCredential, type Credential } from '../../src/auth/credentials.ts';
import { generateKey } from '../../src/auth/key-format.ts';
import { ErrorCode } from '../../src/errors.ts';
import { startCaptureServer, type CaptureServer } from './capture-server.ts';

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer();
});
after(async () => {
  await srv.close();
});

const KEY = generateKey().key;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

// A stock-CLI style signature header (see ollama-signature.test.ts for the full verification).
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
const wireBlob = Buffer.concat([
  Buffer.from([0, 0, 0, 11]),
  Buffer.from('ssh-ed25519'),
  Buffer.from([0, 0, 0, 32]),
  raw,
]).toString('base64');
const TS = '1767225600';
const SIG = sign(null, Buffer.from(`POST,/api/chat?ts=${TS}`), privateKey).toString('base64');
const OLLAMA_AUTH = `${wireBlob}:${SIG}`;

async function extract(requestLine: string, headerLines: string[] = []): Promise<Credential> {
  const c = await srv.send([requestLine, ...headerLines].join('\r\n'));
  assert.ok(c, 'node parsed the request');
  return extractCredential(c.headers, c.rawHeaders, c.url, c.method);
}

type Want =
  | { kind: 'none' }
  | { kind: 'key'; method: 'bearer' | 'x-api-key' | 'basic'; key?: string }
  | { kind: 'ollama-signature' }
  | { kind: 'error'; code: string };

const cases: Array<{ name: string; line?: string; headers: string[]; want: Want }> = [
  { name: 'no credentials at all is "none" (the caller answers 401)', headers: [], want: { kind: 'none' } },
  { name: 'Authorization: Bearer <key> (OpenAI SDKs, ollama-js headers, Open WebUI)', headers: [`Authorization: Bearer ${KEY}`], want: { kind: 'key', method: 'bearer', key: KEY } },
  { name: 'the scheme word is case-insensitive (bearer)', headers: [`authorization: bearer ${KEY}`], want: { kind: 'key', method: 'bearer', key: KEY } },
  { name: 'the scheme word is case-insensitive (BEARER)', headers: [`AUTHORIZATION: BEARER ${KEY}`], want: { kind: 'key', method: 'bearer', key: KEY } },
  { name: 'X-API-Key: <key>', headers: [`X-API-Key: ${KEY}`], want: { kind: 'key', method: 'x-api-key', key: KEY } },
  { name: 'Basic base64(any-user:KEY) gives the password as the key (https://u:KEY@host)', headers: [`Authorization: Basic ${b64(`anyone:${KEY}`)}`], want: { kind: 'key', method: 'basic', key: KEY } },
  { name: 'Basic with an empty user name still gives the key', headers: [`Authorization: basic ${b64(`:${KEY}`)}`], want: { kind: 'key', method: 'basic', key: KEY } },
  { name: 'Basic from https://KEY@host (key as user, empty password) gives the key', headers: [`Authorization: Basic ${b64(`${KEY}:`)}`], want: { kind: 'key', method: 'basic', key: KEY } },
  { name: 'a non-Warden bearer token is still a key credential (checked and refused later, 401)', headers: ['Authorization: Bearer sk-not-ours'], want: { kind: 'key', method: 'bearer', key: 'sk-not-ours' } },
  { name: 'the stock ollama CLI signature with ?ts= is recognised', line: `POST /api/chat?ts=${TS} HTTP/1.1`, headers: [`Authorization: ${OLLAMA_AUTH}`], want: { kind: 'ollama-signature' } },

  // exactly one credential (docs/design.md §3)
  { name: 'two different credential headers are refused (which one would win?)', headers: [`Authorization: Bearer ${KEY}`, `X-API-Key: ${KEY}`], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'a repeated Authorization header is refused (node keeps only the first)', headers: ['Authorization: Bearer sk-other', `Authorization: Bearer ${KEY}`], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'a repeated identical Authorization header is refused too', headers: [`Authorization: Bearer ${KEY}`, `Authorization: Bearer ${KEY}`], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'a repeated X-API-Key header is refused (node joins them with a comma)', headers: [`X-API-Key: ${KEY}`, 'x-api-key: other'], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },

  // credential leakage into logs
  { name: 'key in query string ?key= is refused (credential leakage into logs)', line: `GET /api/tags?key=${KEY} HTTP/1.1`, headers: [], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'key in query string ?api_key= is refused even with a good header', line: `GET /api/tags?api_key=${KEY} HTTP/1.1`, headers: [`Authorization: Bearer ${KEY}`], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'key in query string under any name (owk_ value) is refused', line: `GET /api/tags?foo=${KEY} HTTP/1.1`, headers: [], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'percent-encoded key in query string is refused', line: `GET /api/tags?x=${encodeURIComponent(KEY).replace('_', '%5F')} HTTP/1.1`, headers: [], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'a key used as a query parameter name is refused (and not written to the audit reason)', line: `GET /api/tags?${KEY} HTTP/1.1`, headers: [], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: 'empty ?access_token= is refused (name alone)', line: 'GET /api/tags?access_token= HTTP/1.1', headers: [], want: { kind: 'error', code: ErrorCode.AUTH_AMBIGUOUS } },
  { name: "the ollama CLI's ?ts= is not mistaken for a credential", line: `GET /api/tags?ts=${TS} HTTP/1.1`, headers: [`Authorization: Bearer ${KEY}`], want: { kind: 'key', method: 'bearer', key: KEY } },

  // malformed → 400
  { name: 'an empty Authorization header is malformed', headers: ['Authorization: '], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'an empty Bearer token is malformed', headers: ['Authorization: Bearer'], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'Bearer followed by spaces only is malformed', headers: ['Authorization: Bearer    '], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'a Bearer token with an inner space is malformed', headers: [`Authorization: Bearer ${KEY} extra`], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'Basic with bad base64 is malformed', headers: ['Authorization: Basic !!!notbase64'], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'Basic without a colon is malformed', headers: [`Authorization: Basic ${b64(KEY)}`], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'Basic with an empty password (and no Warden key as user) is malformed', headers: [`Authorization: Basic ${b64('user:')}`], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'an empty X-API-Key is malformed', headers: ['X-API-Key: '], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'an unknown scheme (Digest) is malformed', headers: ['Authorization: Digest username="a"'], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'an ollama signature without ?ts= is malformed', line: 'POST /api/chat HTTP/1.1', headers: [`Authorization: ${OLLAMA_AUTH}`], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'an ollama signature with two ts parameters is malformed (which one was signed?)', line: `POST /api/chat?ts=${TS}&ts=1 HTTP/1.1`, headers: [`Authorization: ${OLLAMA_AUTH}`], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'an ollama signature with a non-numeric ts is malformed', line: 'POST /api/chat?ts=soon HTTP/1.1', headers: [`Authorization: ${OLLAMA_AUTH}`], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
  { name: 'an ollama signature of the wrong length is malformed', line: `POST /api/chat?ts=${TS} HTTP/1.1`, headers: [`Authorization: ${wireBlob}:${b64('short')}`], want: { kind: 'error', code: ErrorCode.AUTH_MALFORMED } },
];

for (const c of cases) {
  test(c.name, async () => {
    const got = await extract(c.line ?? 'GET /api/tags HTTP/1.1', c.headers);
    assert.equal(got.kind, c.want.kind, `got ${JSON.stringify(got)}`);
    if (got.kind === 'key' && c.want.kind === 'key') {
      assert.equal(got.method, c.want.method);
      if (c.want.key !== undefined) assert.equal(got.key, c.want.key);
    }
    if (got.kind === 'error' && c.want.kind === 'error') {
      assert.equal(got.error.code, c.want.code);
      assert.equal(got.error.status, 400);
      for (const text of [got.error.message, got.error.reason]) {
        assert.ok(!text.includes(KEY.slice(4, 20)) && !text.includes(KEY.slice(-10)), `the error never echoes any part of the key: ${text}`);
      }
    }
  });
}

test('the ollama signature credential carries exactly what the CLI signed: METHOD,PATH?ts=TS', async () => {
  const got = await extract(`POST /api/chat?ts=${TS} HTTP/1.1`, [`Authorization: ${OLLAMA_AUTH}`]);
  assert.equal(got.kind, 'ollama-signature');
  if (got.kind !== 'ollama-signature') return;
  assert.equal(got.signedData, `POST,/api/chat?ts=${TS}`);
  assert.equal(got.ts, Number(TS));
  assert.equal(got.publicKey, wireBlob);
  assert.equal(got.signature.length, 64);
  assert.equal(got.signature.toString('base64'), SIG);
});
