// Credential confusion and parser differentials (docs/design.md §3 "Exactly one credential per request",
// §4 model patterns). A front proxy and the server behind it that disagree about which credential
// or which model a request names can be played against each other; Warden refuses every request
// where such a disagreement is possible, before Ollama sees it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden, runCli } from '../helpers/warden.ts';
import { assertStillServes, createKeyViaCli, head, rawExchange, waitForAudit } from './helpers.ts';

let restricted: { id: string; key: string };
let other: { id: string; key: string };

const stack = withWarden({
  ollama: { chunks: 2, delayMs: 0 },
  afterStart: async () => {
    restricted = await createKeyViaCli(stack.w, ['--name', 'llama-only', '--model', 'llama3.*']);
    other = await createKeyViaCli(stack.w, ['--name', 'other']);
  },
});

async function post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const res = await request(`${stack.w.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, dispatcher: stack.w.dispatcher });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

describe('more than one credential', () => {
  it('refuses two Authorization headers with 400 (first-wins vs last-wins confusion)', async () => {
    const before = stack.fake.requests.length;
    const r = await rawExchange(stack.w, head('GET /api/version HTTP/1.1', `Host: 127.0.0.1:${stack.w.port}`, `Authorization: Bearer ${stack.w.adminKey}`, `Authorization: Bearer ${other.key}`, 'Connection: close'));
    assert.equal(r.statuses[0], 400, r.text);
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses two X-API-Key headers with 400 (Node joins them with ", ")', async () => {
    const before = stack.fake.requests.length;
    const r = await rawExchange(stack.w, head('GET /api/version HTTP/1.1', `Host: 127.0.0.1:${stack.w.port}`, `X-API-Key: ${stack.w.adminKey}`, `X-API-Key: ${other.key}`, 'Connection: close'));
    assert.equal(r.statuses[0], 400, r.text);
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses Authorization together with X-API-Key with 400, even when both are valid', async () => {
    const before = stack.fake.requests.length;
    const res = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${other.key}`, 'x-api-key': stack.w.adminKey }, dispatcher: stack.w.dispatcher });
    assert.equal(res.statusCode, 400);
    await res.body.text();
    assert.equal(stack.fake.requests.length, before);
  });

  for (const q of ['key', 'api_key', 'access_token', 'token']) {
    it(`refuses a key in the query string (?${q}=) with 400: keys in URLs leak into logs`, async () => {
      const before = stack.fake.requests.length;
      const res = await request(`${stack.w.url}/api/version?${q}=${stack.w.adminKey}`, { headers: { authorization: `Bearer ${stack.w.adminKey}` }, dispatcher: stack.w.dispatcher });
      assert.equal(res.statusCode, 400);
      await res.body.text();
      assert.equal(stack.fake.requests.length, before);
    });
  }

  it('refuses a key anywhere in the JSON body with 400 (credential in body)', async () => {
    const before = stack.fake.requests.length;
    for (const body of [
      { model: 'llama3.2:latest', api_key: stack.w.adminKey },
      { model: 'llama3.2:latest', messages: [{ role: 'user', content: stack.w.adminKey }] },
    ]) {
      const r = await post('/api/chat', JSON.stringify(body), { authorization: `Bearer ${stack.w.adminKey}` });
      assert.equal(r.status, 400, r.text);
    }
    assert.equal(stack.fake.requests.length, before);
  });
});

describe('no key-existence oracle', () => {
  it('answers a wrong secret for a real key id, an unknown key id, a bad checksum and a revoked key identically (401)', async () => {
    const victim = await createKeyViaCli(stack.w, ['--name', 'victim']);
    const m = /^(owk_[0-9A-Za-z]+_)([0-9A-Za-z]+)$/.exec(victim.key)!;
    const flip = (s: string): string => s.slice(0, -8) + (s.at(-8) === 'A' ? 'B' : 'A') + s.slice(-7);
    const wrongSecret = m[1]! + flip(m[2]!);
    const unknownId = 'owk_' + 'Z'.repeat(16) + '_' + m[2]!;
    const revoke = await runCli(['keys', 'revoke', victim.id], { dataDir: stack.w.dataDir });
    assert.equal(revoke.code, 0, revoke.stderr);
    // The revocation reaches the server within ~1 s: poll until the victim's key is refused.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${victim.key}` }, dispatcher: stack.w.dispatcher });
      await res.body.dump();
      if (res.statusCode === 401) break;
      assert.ok(Date.now() < deadline, 'the revoked key was still served after 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const answers = [];
    for (const k of [wrongSecret, unknownId, victim.key, 'owk_garbage']) {
      const res = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${k}` }, dispatcher: stack.w.dispatcher });
      answers.push({ status: res.statusCode, body: await res.body.text(), www: res.headers['www-authenticate'] });
    }
    for (const a of answers) assert.deepEqual(a, answers[0], `answers differ: ${JSON.stringify(answers)}`);
    assert.equal(answers[0]!.status, 401);
    assert.equal(answers[0]!.www, 'Bearer realm="warden", error="invalid_token"');
  });
});

describe('credentials never reach Ollama', () => {
  it('strips Authorization, X-API-Key and Proxy-Authorization before forwarding (credential forwarding)', async () => {
    const before = stack.fake.requests.length;
    for (const headers of [{ authorization: `Bearer ${stack.w.adminKey}` }, { 'x-api-key': stack.w.adminKey }, { authorization: `Basic ${Buffer.from(`u:${stack.w.adminKey}`).toString('base64')}` }]) {
      const res = await request(`${stack.w.url}/api/version`, { headers: { ...headers, 'proxy-authorization': 'Basic Zm9vOmJhcg==' }, dispatcher: stack.w.dispatcher });
      assert.equal(res.statusCode, 200);
      await res.body.text();
    }
    const seen = stack.fake.requests.slice(before);
    assert.equal(seen.length, 3);
    for (const r of seen) {
      assert.equal(r.headers.authorization, undefined);
      assert.equal(r.headers['x-api-key'], undefined);
      assert.equal(r.headers['proxy-authorization'], undefined);
      assert.doesNotMatch(JSON.stringify(r.headers), /owk_/, 'a Warden key reached Ollama');
    }
  });
});

// Ollama decodes JSON with Go's encoding/json: object keys match struct fields case-insensitively
// (with Unicode folding: U+212A KELVIN SIGN is "k", U+017F LONG S is "s") and a later key wins.
// JavaScript reads keys exactly. Without a check, the policy reads one model and Ollama runs another.
describe('JSON parser differential with Go (model-policy bypass)', () => {
  const cases: Array<{ name: string; body: string }> = [
    { name: '"Model" after "model"', body: '{"model":"llama3.2:latest","Model":"qwen2.5:7b","messages":[]}' },
    { name: '"MODEL" after "model"', body: '{"model":"llama3.2:latest","MODEL":"qwen2.5:7b","messages":[]}' },
    { name: '"OPTIONS" after "options"', body: '{"model":"llama3.2:latest","options":{"num_ctx":2048},"OPTIONS":{"num_ctx":999999},"messages":[]}' },
    { name: '"\u212aeep_alive" (KELVIN SIGN) as keep_alive', body: '{"model":"llama3.2:latest","\u212aeep_alive":-1,"messages":[]}' },
    { name: '"Keep_Alive" alone', body: '{"model":"llama3.2:latest","Keep_Alive":-1,"messages":[]}' },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with 400 and forwards nothing`, async () => {
      const before = stack.fake.requests.length;
      const r = await post('/api/chat', c.body, { authorization: `Bearer ${restricted.key}` });
      assert.equal(r.status, 400, r.text);
      assert.match((JSON.parse(r.text) as { error: string }).error, /ambiguous/);
      assert.equal(stack.fake.requests.length, before, 'the ambiguous body reached Ollama');
    });
  }

  it('judges a repeated "model" key by its last value, as Go does (403 for the model the key may not use)', async () => {
    const before = stack.fake.requests.length;
    const r = await post('/api/chat', '{"model":"llama3.2:latest","model":"qwen2.5:7b","messages":[]}', { authorization: `Bearer ${restricted.key}` });
    assert.equal(r.status, 403, r.text);
    assert.equal(stack.fake.requests.length, before);
  });

  it('audits the refusal with the key id and the reason', async () => {
    // Its own request, so the test proves this (and passes run alone, --test-name-pattern).
    const r = await post('/api/chat', '{"model":"llama3.2:latest","MODEL":"qwen2.5:7b","messages":[]}', { authorization: `Bearer ${restricted.key}` });
    assert.equal(r.status, 400, r.text);
    const line = await waitForAudit(stack.w, (l) => l.keyId === restricted.id && l.status === 400 && (l.reason ?? '').includes('ambiguous'));
    assert.equal(line.path, '/api/chat');
  });

  it('still lets the restricted key use its own model', async () => {
    const r = await post('/api/chat', '{"model":"llama3.2:latest","messages":[],"stream":false}', { authorization: `Bearer ${restricted.key}` });
    assert.equal(r.status, 200, r.text);
    await assertStillServes(stack.w, stack.fake);
  });
});
