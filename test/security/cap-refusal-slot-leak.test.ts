// Attack: wedge a key by getting its requests refused after the limiter took their slot. A key
// with --concurrency 1 whose request was refused by a cap (num_ctx over --max-ctx) never got its
// slot back, so every later request was 429 until restart. Every way a request can be refused or
// abandoned after the limiter must give the slot back, and a policy refusal (403) must not cost
// the key an rpm token either.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { createKeyViaCli, openTls, collect, head, waitForAudit } from './helpers.ts';

const MAX_BODY = 65536;
let fake: FakeOllama;
let w: RunningWarden;
let key: string;
let keyId: string;

before(async () => {
  fake = await startFakeOllama({ chunks: 1, delayMs: 0 });
  w = await startWarden({
    upstream: fake.url,
    env: { WARDEN_LIMITS_MAX_BODY_BYTES: String(MAX_BODY), WARDEN_LIMITS_BODY_MEMORY_BYTES: String(MAX_BODY), WARDEN_LIMITS_REQUEST_TIMEOUT_SECONDS: '1' },
  });
  const k = await createKeyViaCli(w, ['--name', 'one-at-a-time', '--concurrency', '1', '--max-ctx', '100', '--model', 'llama3.2*']);
  key = k.key;
  keyId = k.id;
});

after(async () => {
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

async function chat(body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await request(`${w.url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body,
    dispatcher: w.dispatcher,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

const GOOD = JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false });

async function assertSlotFree(after: string): Promise<void> {
  const r = await chat(GOOD);
  assert.equal(r.status, 200, `after ${after}, the key's only slot was not given back: ${r.status} ${r.text}`);
}

/** Sends a head announcing `declared` bytes, `sent` bytes of body, then (if `hangUp`) closes. */
async function partialBody(declared: number, sent: number, hangUp: boolean): Promise<number[]> {
  const s = await openTls(w);
  const done = collect(s, 5000);
  s.write(head('POST /api/chat HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${key}`, 'Content-Type: application/json', `Content-Length: ${declared}`));
  s.write('{"model":"llama3.2",'.padEnd(sent, ' ').slice(0, sent));
  if (hangUp) s.destroy();
  return (await done).statuses;
}

describe('a request refused after the limiter gives its slot back', () => {
  it('cap refusal (num_ctx over the key\'s --max-ctx): 403, then the next request is served', async () => {
    const r = await chat(JSON.stringify({ model: 'llama3.2', messages: [], options: { num_ctx: 4096 } }));
    assert.equal(r.status, 403, r.text);
    await assertSlotFree('a cap refusal');
  });

  it('model refusal (a model outside --model): 403, then served', async () => {
    const r = await chat(JSON.stringify({ model: 'qwen2.5:7b', messages: [] }));
    assert.equal(r.status, 403, r.text);
    await assertSlotFree('a model refusal');
  });

  it('body that is not JSON: 400, then served', async () => {
    const r = await chat('{"model": ');
    assert.equal(r.status, 400, r.text);
    await assertSlotFree('a bad JSON body');
  });

  it('ambiguous JSON keys (Model and model): 400, then served', async () => {
    const r = await chat('{"model":"llama3.2","Model":"qwen2.5:7b","messages":[]}');
    assert.equal(r.status, 400, r.text);
    await assertSlotFree('an ambiguous body');
  });

  it('body over limits.maxBodyBytes: 413, then served', async () => {
    const r = await chat(JSON.stringify({ model: 'llama3.2', pad: 'x'.repeat(MAX_BODY) }));
    assert.equal(r.status, 413, r.text);
    await assertSlotFree('a 413');
  });

  it('body never finished (requestTimeoutSeconds): 408, then served', async () => {
    const statuses = await partialBody(500, 20, false);
    assert.deepEqual(statuses, [408]);
    await assertSlotFree('a 408');
  });

  it('client hangs up mid-body: audited, then served', async () => {
    await partialBody(500, 20, true);
    // Node reports a hang-up mid-body either to the request (our line, with the key) or, for a
    // clean close, as a parse error of the connection (the listener's line): both end the read.
    await waitForAudit(w, (l) => (l.keyId === keyId && /before the body was complete/.test(l.reason ?? '')) || /HPE_INVALID_EOF_STATE/.test(l.reason ?? ''));
    await assertSlotFree('a client that left mid-body');
  });

  it('a refused request is still limited: the slot is really taken while a body arrives', async () => {
    const s = await openTls(w);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    s.write(head('POST /api/chat HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${key}`, 'Content-Type: application/json', `Content-Length: ${GOOD.length}`));
    s.write(GOOD.slice(0, 10));
    await waitForSlotTaken();
    const second = await chat(GOOD);
    assert.equal(second.status, 429, `a second request while the first holds the slot: ${second.status}`);
    s.write(GOOD.slice(10));
    const deadline = Date.now() + 5000;
    while (!/\r\n\r\n[\s\S]*"done":true/.test(answer) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    assert.match(answer, /^HTTP\/1\.1 200 /, 'the held request is served once its body is complete');
    await assertSlotFree('a served request');
  });
});

describe('a policy refusal costs the key nothing', () => {
  it('403s do not use up the rpm budget', async () => {
    const k = await createKeyViaCli(w, ['--name', 'rpm3', '--rpm', '3', '--model', 'llama3.2*']);
    // createKeyViaCli's readiness probe used one of the three
    for (let i = 0; i < 5; i++) {
      const res = await request(`${w.url}/api/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'qwen2.5:7b', messages: [] }),
        dispatcher: w.dispatcher,
      });
      await res.body.text();
      assert.equal(res.statusCode, 403);
    }
    for (let i = 0; i < 2; i++) {
      const res = await request(`${w.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${k.key}` }, body: GOOD, dispatcher: w.dispatcher });
      await res.body.text();
      assert.equal(res.statusCode, 200, `request ${i + 1} of the two left after five 403s`);
    }
  });
});

/** Polls until a probe with the key is refused for concurrency (the held request took the slot). */
async function waitForSlotTaken(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const res = await request(`${w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: w.dispatcher });
    await res.body.text();
    if (res.statusCode === 429) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the held request never took the slot');
}
