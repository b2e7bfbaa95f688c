// Per-key limits (docs/design.md §4): requests per minute, tokens per minute (from Ollama's own
// prompt_eval_count + eval_count in the final NDJSON line, and `usage` in /v1 answers) and
// concurrent requests. They stop one leaked or greedy key from eating the GPU (resold access to
// open Ollama servers, "LLMjacking"). Set with `keys create`, changed with `keys update`; over a
// limit → 429 with Retry-After, nothing reaches Ollama, one audit line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden, runCli } from '../helpers/warden.ts';
import { createKeyViaCli, waitForAudit } from './helpers.ts';

const PROMPT_TOKENS = 26;
const CHUNKS = 2;

const stack = withWarden({ ollama: { chunks: CHUNKS, delayMs: 0, promptTokens: PROMPT_TOKENS } });

interface Answer {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

async function call(key: string, path = '/api/version', body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`${stack.w.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: stack.w.dispatcher,
  });
  const ra = res.headers['retry-after'];
  return { status: res.statusCode, retryAfter: typeof ra === 'string' ? ra : undefined, text: await res.body.text() };
}

function assertLimited(a: Answer, what: string): void {
  assert.equal(a.status, 429, `${what}: got ${a.status} ${a.text}`);
  assert.match(a.retryAfter ?? '', /^[1-9][0-9]*$/, `${what}: Retry-After must be whole seconds ≥ 1, got ${a.retryAfter}`);
  assert.equal(typeof (JSON.parse(a.text) as { error?: unknown }).error, 'string');
}

async function update(id: string, args: string[]): Promise<void> {
  const r = await runCli(['keys', 'update', id, ...args], { dataDir: stack.w.dataDir });
  assert.equal(r.code, 0, r.stderr);
  await new Promise((res) => setTimeout(res, 1200)); // the running server sees store changes within 1 s
}

describe('requests per minute', () => {
  it('refuses the request after the minute\'s budget with 429 + Retry-After, and Ollama sees nothing (request flooding)', async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'rpm4', '--rpm', '4']); // the readiness probe used one
    for (let i = 0; i < 3; i++) assert.equal((await call(k.key)).status, 200, `request ${i}`);
    const before = stack.fake.requests.length;
    const limited = await call(k.key);
    assertLimited(limited, 'rpm');
    assert.ok(Number(limited.retryAfter) <= 15, `Retry-After ${limited.retryAfter} s for a 4/min bucket`);
    assert.equal(stack.fake.requests.length, before, 'a rate-limited request reached Ollama');
    const line = await waitForAudit(stack.w, (l) => l.keyId === k.id && l.status === 429);
    assert.match(line.reason ?? '', /\brpm\b/);

    // Other keys are not affected by this key's limit.
    assert.equal((await call(stack.w.adminKey)).status, 200);

    // `keys update --rpm` takes effect on the running server.
    await update(k.id, ['--rpm', '600']);
    assert.equal((await call(k.key)).status, 200, 'raised limit not applied');
    await update(k.id, ['--rpm', 'off']);
    for (let i = 0; i < 10; i++) assert.equal((await call(k.key)).status, 200, 'limit removed with --rpm off');
  });
});

describe('tokens per minute', () => {
  it('charges the final NDJSON line\'s prompt_eval_count + eval_count and /v1 usage, then refuses with 429 (token budget exhaustion)', async () => {
    const perRequest = PROMPT_TOKENS + CHUNKS;
    const k = await createKeyViaCli(stack.w, ['--name', 'tpm', '--tpm', String(perRequest * 2 - 5)]);
    const chat = await call(k.key, '/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(chat.status, 200, chat.text);
    assert.match(chat.text, /"done":true/);
    const v1 = await call(k.key, '/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(v1.status, 200, v1.text);
    const before = stack.fake.requests.length;
    const limited = await call(k.key, '/api/generate', { model: 'llama3.2', prompt: 'hi' });
    assertLimited(limited, 'tpm');
    assert.equal(stack.fake.requests.length, before);
    const line = await waitForAudit(stack.w, (l) => l.keyId === k.id && l.status === 429);
    assert.match(line.reason ?? '', /\btpm\b/);
    const charged = await waitForAudit(stack.w, (l) => l.keyId === k.id && l.path === '/api/chat' && l.status === 200);
    assert.equal(charged.promptTokens, PROMPT_TOKENS);
    assert.equal(charged.evalTokens, CHUNKS);
  });
});

describe('concurrent requests', () => {
  it('refuses a second stream while the first holds the only slot, and frees the slot when it ends (GPU hogging)', async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'conc1', '--concurrency', '1']);
    const long = call(k.key, '/api/generate', { model: 'llama3.2', prompt: 'long' }, { 'x-fake-chunks': '15', 'x-fake-delay-ms': '100' });
    // wait until the first stream is at Ollama
    for (let i = 0; i < 50 && !stack.fake.requests.some((r) => r.body.toString().includes('"long"')); i++) await new Promise((r) => setTimeout(r, 20));
    const before = stack.fake.requests.length;
    const second = await call(k.key, '/api/generate', { model: 'llama3.2', prompt: 'second' });
    assertLimited(second, 'concurrency');
    assert.equal(stack.fake.requests.length, before);
    assert.equal((await long).status, 200);
    assert.equal((await call(k.key, '/api/generate', { model: 'llama3.2', prompt: 'third' })).status, 200, 'slot not released after the stream ended');
    const line = await waitForAudit(stack.w, (l) => l.keyId === k.id && l.status === 429);
    assert.match(line.reason ?? '', /\bconcurrency\b/);
  });

  it('releases the slot when the client disconnects mid-stream', async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'conc-abort', '--concurrency', '1']);
    const ac = new AbortController();
    const res = await request(`${stack.w.url}/api/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json', 'x-fake-chunks': '50', 'x-fake-delay-ms': '100' },
      body: JSON.stringify({ model: 'llama3.2', prompt: 'abandoned' }),
      dispatcher: stack.w.dispatcher,
      signal: ac.signal,
    });
    assert.equal(res.statusCode, 200);
    ac.abort();
    await res.body.text().catch(() => undefined);
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await call(k.key, '/api/generate', { model: 'llama3.2', prompt: 'after' })).status;
    }
    assert.equal(status, 200, 'the slot of an abandoned stream was never released');
  });
});
