// Expensive requests (GPU denial of service): one request can pin a GPU for hours with a huge
// `num_ctx`, an unlimited `num_predict` / `max_tokens`, or `keep_alive: -1`. Config `caps` puts
// optional ceilings on them; `caps.mode: refuse` answers 403 before Ollama sees anything,
// `caps.mode: clamp` forwards the request rewritten to the cap. Both are checked at the real
// boundary: what the fake Ollama actually received. A key can carry its own caps
// (`keys create --max-ctx …`); the lower of the server's and the key's is in force, in the
// server's mode, and a server without caps still enforces a key's.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama, type RecordedRequest } from '../helpers/fake-ollama.ts';
import { startWarden, runCli, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { compileCaps, keepAliveSeconds, parseGoDuration } from '../../src/policy/caps.ts';
import { createKeyViaCli, waitForAudit } from './helpers.ts';

const CAPS = { WARDEN_CAPS_NUM_CTX: '8192', WARDEN_CAPS_NUM_PREDICT: '512', WARDEN_CAPS_KEEP_ALIVE: '30m' };
let fake: FakeOllama;
let refuse: RunningWarden;
let clamp: RunningWarden;
/** no server caps at all: only keys' own caps apply */
let uncapped: RunningWarden;

before(async () => {
  fake = await startFakeOllama({ chunks: 2, delayMs: 0 });
  [refuse, clamp, uncapped] = await Promise.all([
    startWarden({ upstream: fake.url, env: { ...CAPS, WARDEN_CAPS_MODE: 'refuse' } }),
    startWarden({ upstream: fake.url, env: { ...CAPS, WARDEN_CAPS_MODE: 'clamp' } }),
    startWarden({ upstream: fake.url }),
  ]);
});

after(async () => {
  await Promise.all([refuse?.stop(), clamp?.stop(), uncapped?.stop()]);
  await fake?.close();
  for (const w of [refuse, clamp, uncapped]) if (w) removeDir(w.dataDir);
});

async function send(w: RunningWarden, path: string, body: unknown, key = w.adminKey): Promise<{ status: number; text: string; upstream: RecordedRequest | undefined }> {
  const before = fake.requests.length;
  const res = await request(`${w.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    dispatcher: w.dispatcher,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, upstream: fake.requests[before] };
}

const forwarded = (r: { upstream: RecordedRequest | undefined }): Record<string, unknown> => {
  assert.ok(r.upstream, 'the request did not reach Ollama');
  return JSON.parse(r.upstream.body.toString()) as Record<string, unknown>;
};

const chat = (extra: Record<string, unknown>): Record<string, unknown> => ({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false, ...extra });

describe('caps.mode refuse', () => {
  const over: Array<[string, string, Record<string, unknown>]> = [
    ['a 128k context window (options.num_ctx, KV-cache exhaustion)', '/api/chat', chat({ options: { num_ctx: 131072 } })],
    ['unlimited generation (options.num_predict -1)', '/api/generate', { model: 'llama3.2', prompt: 'hi', options: { num_predict: -1 } }],
    ['"fill the context" generation (options.num_predict -2)', '/api/generate', { model: 'llama3.2', prompt: 'hi', options: { num_predict: -2 } }],
    ['a model pinned in memory forever (keep_alive -1)', '/api/chat', chat({ keep_alive: -1 })],
    ['a model pinned for a day (keep_alive "24h")', '/api/generate', { model: 'llama3.2', prompt: '', keep_alive: '24h' }],
    ['keep_alive "-1m" (negative duration = forever)', '/api/embed', { model: 'nomic-embed-text', input: 'x', keep_alive: '-1m' }],
    ['keep_alive as seconds over the cap (7200)', '/api/chat', chat({ keep_alive: 7200 })],
    ['an OpenAI max_tokens over the cap', '/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100000 }],
    ['an OpenAI max_completion_tokens over the cap', '/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 100000 }],
    ['/v1/completions max_tokens over the cap', '/v1/completions', { model: 'llama3.2', prompt: 'hi', max_tokens: 4096 }],
    ['num_ctx smuggled as a string ("131072")', '/api/chat', chat({ options: { num_ctx: '131072' } })],
    ['a keep_alive that is not a duration', '/api/chat', chat({ keep_alive: 'forever' })],
  ];
  for (const [name, path, body] of over) {
    it(`stops ${name} with 403 before Ollama sees it`, async () => {
      const r = await send(refuse, path, body);
      assert.equal(r.status, 403, r.text);
      const e = (JSON.parse(r.text) as { error?: unknown }).error;
      // Ollama's shape on its own API, OpenAI's ({"error":{"message","type"}}) on /v1/*
      assert.equal(typeof (path.startsWith('/v1/') ? (e as { message?: unknown }).message : e), 'string');
      assert.equal(r.upstream, undefined, 'the capped request reached Ollama');
    });
  }

  it('audits a cap refusal with its reason', async () => {
    const line = await waitForAudit(refuse, (l) => l.status === 403 && (l.reason ?? '').startsWith('caps:'));
    assert.equal(line.path !== null, true);
  });

  it('forwards requests within the caps, filling in the num_predict cap that Ollama would leave unlimited', async () => {
    const r = await send(refuse, '/api/chat', chat({ options: { num_ctx: 4096, temperature: 0 }, keep_alive: '10m' }));
    assert.equal(r.status, 200, r.text);
    const body = forwarded(r);
    assert.deepEqual(body.options, { num_ctx: 4096, temperature: 0, num_predict: 512 });
    assert.equal(body.keep_alive, '10m');
    const v1 = forwarded(await send(refuse, '/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(v1.max_tokens, 512);
  });

  it('is not walked around by another spelling of the field (Go reads "KEEP_ALIVE" as keep_alive)', async () => {
    const r = await send(refuse, '/api/chat', chat({ KEEP_ALIVE: -1 }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.upstream, undefined);
  });
});

describe('caps.mode clamp', () => {
  it('rewrites num_ctx, num_predict and keep_alive to the caps and forwards the rewritten body', async () => {
    const r = await send(clamp, '/api/chat', chat({ options: { num_ctx: 131072, num_predict: -1, seed: 7 }, keep_alive: -1 }));
    assert.equal(r.status, 200, r.text);
    const body = forwarded(r);
    assert.deepEqual(body.options, { num_ctx: 8192, num_predict: 512, seed: 7 });
    assert.equal(body.keep_alive, 1800);
    assert.deepEqual(body.messages, [{ role: 'user', content: 'hi' }], 'the rest of the body is unchanged');
    assert.equal(Number(r.upstream!.headers['content-length']), r.upstream!.body.length, 'Content-Length matches the rewritten body');
    const line = await waitForAudit(clamp, (l) => (l.reason ?? '').startsWith('capped:'));
    assert.match(line.reason!, /num_ctx/);
  });

  it('clamps OpenAI max_tokens and /v1/responses max_output_tokens', async () => {
    assert.equal(forwarded(await send(clamp, '/v1/chat/completions', { model: 'llama3.2', messages: [], max_tokens: 100000 })).max_tokens, 512);
    const resp = await send(clamp, '/v1/responses', { model: 'llama3.2', input: 'hi', max_output_tokens: 99999 });
    // the fake Ollama does not implement /v1/responses (404), but what it received is what counts
    assert.equal(forwarded(resp).max_output_tokens, 512);
  });

  it('leaves values under the caps untouched', async () => {
    const body = forwarded(await send(clamp, '/api/generate', { model: 'llama3.2', prompt: 'hi', stream: false, options: { num_ctx: 2048, num_predict: 64 }, keep_alive: '5m' }));
    assert.deepEqual(body.options, { num_ctx: 2048, num_predict: 64 });
    assert.equal(body.keep_alive, '5m');
  });

  it('still refuses a value it cannot read (a string num_ctx) rather than guess', async () => {
    const r = await send(clamp, '/api/chat', chat({ options: { num_ctx: '131072' } }));
    assert.equal(r.status, 403, r.text);
    assert.equal(r.upstream, undefined);
  });
});

describe('per-key caps', () => {
  const ctx4096 = chat({ options: { num_ctx: 4096 } });

  it('a key with --max-ctx 2048 is refused 403 on a server without caps, while a key without caps gets through with the same body', async () => {
    const capped = await createKeyViaCli(uncapped, ['--name', 'small-ctx', '--max-ctx', '2048']);
    const r = await send(uncapped, '/api/chat', ctx4096, capped.key);
    assert.equal(r.status, 403, r.text);
    assert.equal((JSON.parse(r.text) as { error: string }).error, "options.num_ctx 4096 is over this key's limit of 2048");
    assert.equal(r.upstream, undefined, 'the capped request reached Ollama');
    const line = await waitForAudit(uncapped, (l) => l.keyId === capped.id && l.status === 403);
    assert.match(line.reason ?? '', /^caps: options\.num_ctx 4096 > 2048 \(key cap\)/);

    const other = await send(uncapped, '/api/chat', ctx4096);
    assert.equal(other.status, 200, other.text);
    assert.deepEqual(forwarded(other).options, { num_ctx: 4096 }, 'forwarded unchanged: no caps anywhere for this key');
    const within = await send(uncapped, '/api/chat', chat({ options: { num_ctx: 2048 } }), capped.key);
    assert.equal(within.status, 200, within.text);
  });

  it('with server caps too, the lower one is in force and the refusal says whose it is', async () => {
    const tight = await createKeyViaCli(refuse, ['--name', 'tight', '--max-ctx', '2048']);
    const loose = await createKeyViaCli(refuse, ['--name', 'loose', '--max-ctx', '100000']);
    const byKey = await send(refuse, '/api/chat', ctx4096, tight.key);
    assert.equal(byKey.status, 403, byKey.text);
    assert.match(byKey.text, /this key's limit of 2048/);
    assert.equal(byKey.upstream, undefined);
    assert.equal((await send(refuse, '/api/chat', ctx4096, loose.key)).status, 200, 'under both caps');
    const byServer = await send(refuse, '/api/chat', chat({ options: { num_ctx: 9000 } }), loose.key);
    assert.equal(byServer.status, 403, 'a key cap above the server cap does not loosen it');
    assert.match(byServer.text, /this server's limit of 8192/);
    assert.equal(byServer.upstream, undefined);
  });

  it("caps.mode clamp rewrites to the key's cap where it is lower, and to the server's elsewhere", async () => {
    const k = await createKeyViaCli(clamp, ['--name', 'clamped', '--max-ctx', '2048', '--max-keep-alive', '5m']);
    const body = chat({ options: { num_ctx: 4096 }, keep_alive: '1h' });
    const r = await send(clamp, '/api/chat', body, k.key);
    assert.equal(r.status, 200, r.text);
    const sent = forwarded(r);
    assert.deepEqual(sent.options, { num_ctx: 2048, num_predict: 512 }, "the key's num_ctx, the server's num_predict");
    assert.equal(sent.keep_alive, 300);
    const line = await waitForAudit(clamp, (l) => l.keyId === k.id && (l.reason ?? '').startsWith('capped:'));
    assert.match(line.reason!, /num_ctx 4096→2048 \(key cap\)/);

    const admin = forwarded(await send(clamp, '/api/chat', body));
    assert.deepEqual(admin.options, { num_ctx: 4096, num_predict: 512 }, 'a key without caps: only the server caps');
    assert.equal(admin.keep_alive, 1800);
  });

  it('keys update --max-ctx off lifts the cap, and the running server sees it within 1 s', async () => {
    const k = await createKeyViaCli(uncapped, ['--name', 'lifted', '--max-ctx', '2048']);
    assert.equal((await send(uncapped, '/api/chat', ctx4096, k.key)).status, 403);
    const upd = await runCli(['keys', 'update', k.id, '--max-ctx', 'off'], { dataDir: uncapped.dataDir });
    assert.equal(upd.code, 0, upd.stderr);
    const changedAt = Date.now();
    let r = await send(uncapped, '/api/chat', ctx4096, k.key);
    while (r.status === 403 && Date.now() - changedAt < 1000) {
      await new Promise((res) => setTimeout(res, 50));
      r = await send(uncapped, '/api/chat', ctx4096, k.key);
    }
    assert.equal(r.status, 200, `still refused ${Date.now() - changedAt} ms after the update: ${r.text}`);
    assert.deepEqual(forwarded(r).options, { num_ctx: 4096 });
  });
});

describe('caps configuration', () => {
  it('stops start-up with exit code 2 naming caps.keepAlive when it is not a duration', async () => {
    const r = await runCli(['serve'], { dataDir: refuse.dataDir, env: { WARDEN_CAPS_KEEP_ALIVE: 'forever' } });
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr + r.stdout, /caps\.keepAlive/);
  });

  it('parses Go durations as Ollama does (table)', () => {
    const table: Array<[string, number | null]> = [
      ['30m', 1800],
      ['1h30m', 5400],
      ['1.5h', 5400],
      ['300ms', 0.3],
      ['0', 0],
      ['-1m', -60],
      ['10', null],
      ['forever', null],
      ['', null],
    ];
    for (const [text, want] of table) assert.equal(parseGoDuration(text), want, `parseGoDuration(${JSON.stringify(text)})`);
    assert.equal(keepAliveSeconds(-1), Number.POSITIVE_INFINITY);
    assert.equal(keepAliveSeconds('-5m'), Number.POSITIVE_INFINITY);
    assert.equal(keepAliveSeconds(90), 90);
    assert.equal(keepAliveSeconds(true), null);
  });

  it('does nothing at all when no cap is set', () => {
    const caps = compileCaps({ mode: 'refuse', numCtx: null, numPredict: null, keepAlive: null });
    assert.equal(caps.active, false);
    assert.deepEqual(caps.apply('POST /api/chat', { model: 'x', options: { num_ctx: 1e9 }, keep_alive: -1 }), { ok: true, changed: false });
  });
});
