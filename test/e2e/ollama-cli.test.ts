// The stock `ollama` CLI logging in with its own signature (docs/design.md §3, OLLAMA_AUTH=1), end to end:
// a key made by the real ssh-keygen in ~/.ollama, registered with `warden keys create
// --ollama-pubkey`, requests signed exactly as ollama's Go client signs them (see
// test/security/ollama-cli-signer.ts), sent over real TLS to `warden serve`, answered by the fake
// Ollama. Also the attacks the scheme invites: replay inside the ±300 s window, stale or future
// timestamps, a signature moved to another path or method, an unregistered key.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { withWarden, runCli } from '../helpers/warden.ts';
import { makeOllamaKey, OllamaCliSigner, type SignedRequest } from '../security/ollama-cli-signer.ts';
import { waitForAudit } from '../security/helpers.ts';

const home = mkdtempSync(join(tmpdir(), 'warden-ollama-home-'));
after(() => rmSync(home, { recursive: true, force: true }));
let cli: OllamaCliSigner;
let stranger: OllamaCliSigner;
let keyId: string;

const stack = withWarden({
  ollama: { chunks: 3, delayMs: 5, foreignHostCheck: true },
  afterStart: async ({ w }) => {
    const keyPath = makeOllamaKey(home, 'me@laptop');
    cli = new OllamaCliSigner(keyPath);
    stranger = new OllamaCliSigner(makeOllamaKey(join(home, 'other'), 'stranger'));
    // Registered by the path of the .pub file, as the README tells users to.
    const created = await runCli(['keys', 'create', '--json', '--name', 'laptop-cli', '--scope', 'inference', '--scope', 'models:read', '--ollama-pubkey', `${keyPath}.pub`], { dataDir: w.dataDir });
    assert.equal(created.code, 0, created.stderr);
    keyId = (JSON.parse(created.stdout) as { id: string }).id;
    // the running server picks the new key up within ~250 ms
    for (let i = 0; i < 40; i++) {
      if ((await send('GET', '/api/version')).status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the registered ollama key never worked');
  },
});

async function exchange(method: 'GET' | 'POST' | 'DELETE' | 'HEAD', signed: SignedRequest, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await request(`${stack.w.url}${signed.url}`, {
    method,
    headers: signed.headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: stack.w.dispatcher,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** One fresh CLI request: signed now, for this method and path. */
function send(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signer = cli, now?: number): Promise<{ status: number; text: string }> {
  return exchange(method, signer.sign(method, path, now, body !== undefined), body);
}

describe('ollama CLI signature login (OLLAMA_AUTH=1)', () => {
  it('accepts `ollama list` (GET /api/tags) signed with the registered ssh-keygen key', async () => {
    const before = stack.fake.requests.length;
    const r = await send('GET', '/api/tags');
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray((JSON.parse(r.text) as { models: unknown[] }).models));
    const seen = stack.fake.requests[before]!;
    assert.equal(seen.url, '/api/tags', 'the ts parameter must be stripped before Ollama');
    assert.equal(seen.headers.authorization, undefined, 'the signature must not reach Ollama');
  });

  it('streams `ollama run` (POST /api/chat) under the signature', async () => {
    const r = await send('POST', '/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, r.text);
    const lines = r.text.trim().split('\n').map((l) => JSON.parse(l) as { done: boolean });
    assert.equal(lines.at(-1)!.done, true);
  });

  it('audits the request with the key id and auth method ollama-signature', async () => {
    const line = await waitForAudit(stack.w, (l) => l.keyId === keyId && l.path === '/api/chat');
    assert.equal(line.authMethod, 'ollama-signature');
  });

  it('accepts a timestamp 299 s old (inside the ±300 s window: clock skew)', async () => {
    const r = await send('GET', '/api/ps', undefined, cli, Math.floor(Date.now() / 1000) - 299);
    assert.equal(r.status, 200, r.text);
  });

  it('still enforces the key\'s scopes (models:manage is not granted: `ollama pull` → 403)', async () => {
    const before = stack.fake.requests.length;
    const r = await send('POST', '/api/pull', { model: 'llama3.2' });
    assert.equal(r.status, 403, r.text);
    assert.equal(stack.fake.requests.length, before);
  });
});

describe('attacks on the signature scheme', () => {
  it('refuses an exact replay of a captured request inside the window (replay attack)', async () => {
    // A timestamp no other test uses (7 s ago, well inside the window), so this signature is new.
    const captured = cli.sign('GET', '/api/version', Math.floor(Date.now() / 1000) - 7);
    assert.equal((await exchange('GET', captured)).status, 200);
    // The very same header again, at once: refused (Ed25519 signatures are deterministic, so
    // this is exactly what an attacker holding a captured header would send).
    const before = stack.fake.requests.length;
    const replay = await exchange('GET', captured);
    assert.equal(replay.status, 401, replay.text);
    assert.equal(stack.fake.requests.length, before, 'the replayed request reached Ollama');
    const line = await waitForAudit(stack.w, (l) => (l.reason ?? '').includes('replayed'));
    assert.equal(line.status, 401);
  });

  const stale: Array<[string, number]> = [
    ['a timestamp 301 s in the past (stale capture)', -301],
    ['a timestamp 301 s in the future (pre-signed request)', 301],
    ['a timestamp from a day ago', -86_400],
  ];
  for (const [name, offset] of stale) {
    it(`refuses ${name} with 401`, async () => {
      const before = stack.fake.requests.length;
      const r = await send('GET', '/api/tags', undefined, cli, Math.floor(Date.now() / 1000) + offset);
      assert.equal(r.status, 401, r.text);
      assert.equal(stack.fake.requests.length, before);
    });
  }

  it('refuses a signature for one path used on another (GET /api/tags → GET /api/ps)', async () => {
    const s = cli.sign('GET', '/api/tags');
    const moved: SignedRequest = { ...s, url: s.url.replace('/api/tags', '/api/ps') };
    const before = stack.fake.requests.length;
    assert.equal((await exchange('GET', moved)).status, 401);
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses a signature for one method used with another (GET → DELETE /api/delete)', async () => {
    const s = cli.sign('GET', '/api/delete');
    const before = stack.fake.requests.length;
    assert.equal((await exchange('DELETE', s, { model: 'llama3.2' })).status, 401);
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses a signature whose ts in the URL differs from the signed one (timestamp swap)', async () => {
    const s = cli.sign('GET', '/api/tags', Math.floor(Date.now() / 1000) - 1000);
    const swapped: SignedRequest = { ...s, url: `/api/tags?ts=${Math.floor(Date.now() / 1000)}` };
    assert.equal((await exchange('GET', swapped)).status, 401);
  });

  it('refuses a valid signature from an ssh key that is not registered', async () => {
    const before = stack.fake.requests.length;
    const r = await send('GET', '/api/tags', undefined, stranger);
    assert.equal(r.status, 401, r.text);
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses the registered public key with a forged signature', async () => {
    const s = cli.sign('GET', '/api/tags');
    const forged = stranger.sign('GET', '/api/tags');
    const mixed: SignedRequest = { ...s, headers: { ...s.headers, authorization: `${cli.publicKeyBlob}:${forged.headers.authorization!.split(':')[1]!}` } };
    assert.equal((await exchange('GET', mixed)).status, 401);
  });

  it('refuses a signed request without ?ts= or with two of them (400)', async () => {
    const s = cli.sign('GET', '/api/tags');
    assert.equal((await exchange('GET', { ...s, url: '/api/tags' })).status, 400);
    assert.equal((await exchange('GET', { ...s, url: `${s.url}&ts=1` })).status, 400);
  });

  it('refuses a signature together with an X-API-Key (two credentials → 400)', async () => {
    const s = cli.sign('GET', '/api/tags');
    assert.equal((await exchange('GET', { ...s, headers: { ...s.headers, 'x-api-key': stack.w.adminKey } })).status, 400);
  });

  it('stops accepting the ssh key within a second of `warden keys revoke`', async () => {
    const pubText = readFileSync(join(home, '.ollama', 'id_ed25519.pub'), 'utf8').trim();
    const second = await runCli(['keys', 'create', '--json', '--name', 'revoke-me', '--ollama-pubkey', pubText.replace('me@laptop', '')], { dataDir: stack.w.dataDir });
    // one ssh key may belong to one Warden key only, or be registered as text as well as by path
    if (second.code === 0) {
      const id = (JSON.parse(second.stdout) as { id: string }).id;
      assert.equal((await runCli(['keys', 'revoke', id], { dataDir: stack.w.dataDir })).code, 0);
    }
    const r = await runCli(['keys', 'revoke', keyId], { dataDir: stack.w.dataDir });
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 1200));
    const before = stack.fake.requests.length;
    assert.equal((await send('GET', '/api/tags')).status, 401);
    assert.equal(stack.fake.requests.length, before);
  });
});
