// Warden's own answers in the shape of the API the client called, so SDKs show the message:
// OpenAI's {"error":{"message","type"}} on /v1/*, Anthropic's {"type":"error","error":{…}} on
// /v1/messages, Ollama's {"error":"…"} elsewhere. A 502 never names the internal upstream
// address. Blob digests are accepted as Ollama accepts them (sha256: or sha256-, any hex case).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { createKeyViaCli } from '../security/helpers.ts';

let fake: FakeOllama;
let w: RunningWarden;
let dead: RunningWarden;
let limited: string;

/** A port nothing listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  fake = await startFakeOllama({ chunks: 1, delayMs: 0 });
  [w, dead] = await Promise.all([startWarden({ upstream: fake.url }), startWarden({ upstream: `http://127.0.0.1:${await freePort()}` })]);
  limited = (await createKeyViaCli(w, ['--name', 'llama-only', '--scope', 'inference', '--scope', 'models:read', '--scope', 'models:manage', '--model', 'llama3.*'])).key;
});

after(async () => {
  await Promise.all([w?.stop(), dead?.stop()]);
  await fake?.close();
  for (const s of [w, dead]) if (s) removeDir(s.dataDir);
});

async function post(server: RunningWarden, path: string, body: unknown, key: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: server.dispatcher,
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('error shapes', () => {
  it('OpenAI routes get {"error":{"message","type"}}', async () => {
    const r = await post(w, '/v1/chat/completions', { model: 'qwen2.5:7b', messages: [] }, limited);
    assert.equal(r.status, 403);
    const e = r.json.error as { message: unknown; type: unknown };
    assert.equal(typeof e.message, 'string');
    assert.equal(e.type, 'permission_error');
  });

  it('/v1/messages gets Anthropic’s {"type":"error","error":{"type","message"}}', async () => {
    const r = await post(w, '/v1/messages', { model: 'qwen2.5:7b', max_tokens: 5, messages: [] }, limited);
    assert.equal(r.status, 403);
    assert.equal(r.json.type, 'error');
    const e = r.json.error as { message: unknown; type: unknown };
    assert.equal(e.type, 'permission_error');
    assert.equal(typeof e.message, 'string');
  });

  it('an OpenAI client without a key gets the OpenAI shape with authentication_error', async () => {
    const res = await request(`${w.url}/v1/models`, { dispatcher: w.dispatcher });
    const json = (await res.body.json()) as { error: { type: string; message: string } };
    assert.equal(res.statusCode, 401);
    assert.equal(json.error.type, 'authentication_error');
  });

  it('Ollama’s own API keeps {"error":"…"}', async () => {
    const r = await post(w, '/api/chat', { model: 'qwen2.5:7b', messages: [] }, limited);
    assert.equal(r.status, 403);
    assert.equal(typeof r.json.error, 'string');
  });

  it('a 502 does not name the internal upstream address', async () => {
    for (const path of ['/api/chat', '/v1/chat/completions']) {
      const res = await request(`${dead.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dead.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama3.2', messages: [] }),
        dispatcher: dead.dispatcher,
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, 502, text);
      assert.doesNotMatch(text, /127\.0\.0\.1|localhost|http:/);
    }
  });
});

describe('blob digests as Ollama accepts them', () => {
  for (const digest of [`sha256:${'ab'.repeat(32)}`, `sha256-${'ab'.repeat(32)}`, `sha256:${'AB'.repeat(32)}`, `sha256-${'aB'.repeat(32)}`]) {
    it(`HEAD /api/blobs/${digest.slice(0, 12)}… reaches Ollama`, async () => {
      const before = fake.requests.length;
      const res = await request(`${w.url}/api/blobs/${digest}`, { method: 'HEAD', headers: { authorization: `Bearer ${w.adminKey}` }, dispatcher: w.dispatcher });
      await res.body.dump();
      assert.notEqual(res.statusCode, 400);
      assert.equal(fake.requests.length, before + 1);
    });
  }
  for (const digest of [`sha256_${'ab'.repeat(32)}`, `sha512:${'ab'.repeat(32)}`, `sha256:${'ab'.repeat(31)}`, `sha256:${'gg'.repeat(32)}`]) {
    it(`refuses ${digest.slice(0, 12)}… with 400`, async () => {
      const res = await request(`${w.url}/api/blobs/${digest}`, { method: 'HEAD', headers: { authorization: `Bearer ${w.adminKey}` }, dispatcher: w.dispatcher });
      await res.body.dump();
      assert.ok(res.statusCode === 400 || res.statusCode === 404, String(res.statusCode));
    });
  }
});
