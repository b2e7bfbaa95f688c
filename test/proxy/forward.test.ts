// forward() between a real HTTP client, a real http.Server and the fake Ollama, over real
// loopback sockets and the real undici pool. Each test is named after what it stops.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { type FakeOllama, type RecordedRequest } from '../helpers/fake-ollama.ts';
import { createUpstreams } from '../../src/proxy/upstreams.ts';
import { WardenError, ErrorCode } from '../../src/errors.ts';
import { deadUrl, request, requestHead, startProxy, waitFor, withProxy, type ProxyHarness } from './harness.ts';

const lastRequest = (fake: FakeOllama): RecordedRequest => {
  const r = fake.requests.at(-1);
  assert.ok(r, 'the fake received no request');
  return r;
};

const nextResult = (proxy: ProxyHarness) =>
  new Promise<import('../../src/proxy/forward.ts').ForwardResult>((resolve) => proxy.events.once('result', resolve));

void describe('forward: streaming, headers and token counts', () => {
  const revoke = new Map<string, AbortController>();

  const stack = withProxy({
    ollama: { foreignHostCheck: true, chunks: 5, delayMs: 20 },
    harness: {
      tweak: (req) => {
        const opts: Partial<import('../../src/proxy/forward.ts').ForwardOptions> = {};
        if (req.url === '/api/tags') {
          opts.responseFilter = (json) => {
            const j = json as { models: { name: string }[] };
            return { models: j.models.filter((m) => m.name.startsWith('llama')) };
          };
        }
        const id = req.headers['x-test-revoke'];
        if (typeof id === 'string') {
          const ac = new AbortController();
          revoke.set(id, ac);
          opts.signal = ac.signal;
        }
        const stall = req.headers['x-test-stall-ms'];
        if (typeof stall === 'string') opts.stallTimeoutMs = Number(stall);
        if (req.headers['x-test-cancel-now']) {
          opts.signal = AbortSignal.abort(new WardenError(ErrorCode.AUTH_INVALID_KEY, 'key revoked'));
        }
        return opts;
      },
    },
  });

  void test('chunks reach the client while Ollama is still generating (no buffering)', async () => {
    const res = await request(stack.proxy.port, {
      method: 'POST',
      path: '/api/generate',
      headers: { 'content-type': 'application/json', 'x-fake-delay-ms': '150', 'x-fake-chunks': '5' },
      body: JSON.stringify({ model: 'llama3.2', prompt: 'hi' }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    const first = res.chunkTimes[0];
    assert.ok(first !== undefined);
    // five chunks 150 ms apart: the first must arrive long before the last
    assert.ok(res.endTime - first > 500, `first chunk at ${first.toFixed(0)} ms, end at ${res.endTime.toFixed(0)} ms: the answer was buffered`);
    assert.ok(res.chunkTimes.length >= 5, `got ${res.chunkTimes.length} chunks, want >= 5`);
    const lines = res.body.toString().trim().split('\n').map((l) => JSON.parse(l) as { done: boolean });
    assert.equal(lines.length, 6);
    assert.equal(lines.at(-1)?.done, true);
  });

  void test('token counts come from the final NDJSON line, streamed and not streamed', async () => {
    for (const stream of [true, false]) {
      const done = nextResult(stack.proxy);
      const res = await request(stack.proxy.port, {
        method: 'POST',
        path: '/api/chat',
        headers: { 'x-fake-chunks': '7', 'x-fake-delay-ms': '0' },
        body: JSON.stringify({ model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'hi' }], stream }),
      });
      assert.equal(res.status, 200);
      const result = await done;
      assert.equal(result.promptTokens, 26, `stream=${stream}`);
      assert.equal(result.evalTokens, 7, `stream=${stream}`);
      assert.equal(result.bytesOut, res.body.length);
      assert.equal(result.aborted, false);
    }
  });

  void test('token counts come from the SSE usage event of an OpenAI stream', async () => {
    const cases = [
      { include_usage: true, want: { prompt: 26, evals: 4 } },
      { include_usage: false, want: { prompt: null, evals: null } },
    ];
    for (const c of cases) {
      const done = nextResult(stack.proxy);
      const res = await request(stack.proxy.port, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'x-fake-chunks': '4', 'x-fake-delay-ms': '0' },
        body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: c.include_usage } }),
      });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
      assert.ok(res.body.toString().endsWith('data: [DONE]\n\n'));
      const result = await done;
      assert.equal(result.promptTokens, c.want.prompt, `include_usage=${c.include_usage}`);
      assert.equal(result.evalTokens, c.want.evals, `include_usage=${c.include_usage}`);
    }
  });

  void test('client credentials and hop-by-hop headers never reach Ollama; Host is rewritten', async () => {
    const res = await request(stack.proxy.port, {
      method: 'POST',
      path: '/api/embed',
      headers: {
        host: 'warden.example:11443',
        authorization: 'Bearer owk_secret',
        'x-api-key': 'owk_secret2',
        cookie: 'warden_session=abc',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        connection: 'keep-alive, x-private-hop',
        'x-private-hop': 'secret',
        'keep-alive': 'timeout=5',
        'x-forwarded-for': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
        'x-custom': 'kept',
      },
      body: JSON.stringify({ model: 'llama3.2', input: 'hello' }),
    });
    // the fake refuses a foreign Host with 403, so 200 proves Host was rewritten
    assert.equal(res.status, 200);
    const seen = lastRequest(stack.fake).headers;
    for (const h of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization', 'x-private-hop', 'keep-alive', 'forwarded']) {
      assert.equal(seen[h], undefined, `${h} reached Ollama`);
    }
    assert.equal(seen.host, stack.fake.host);
    assert.equal(seen['x-forwarded-for'], '127.0.0.1', 'a client-supplied X-Forwarded-For must not be passed on');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'warden.example:11443');
    assert.equal(seen['x-custom'], 'kept');
  });

  void test('the fake really refuses a foreign Host (so the test above can fail)', async () => {
    const res = await request(stack.fake.port, { path: '/api/version', headers: { host: 'evil.example' } });
    assert.equal(res.status, 403);
  });

  void test('a client that disconnects mid-stream aborts the upstream request within 1 s', async () => {
    const before = stack.fake.requests.length;
    const done = nextResult(stack.proxy);
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: stack.proxy.port, method: 'POST', path: '/api/generate', agent: false, headers: { 'x-fake-chunks': '200', 'x-fake-delay-ms': '50' } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.end(JSON.stringify({ model: 'llama3.2', prompt: 'long story' }));
      req.on('close', resolve);
      setTimeout(() => reject(new Error('no first chunk')), 5000).unref();
    });
    const rec = stack.fake.requests[before];
    assert.ok(rec);
    const ms = await waitFor(() => rec.aborted, 1000, 'the fake to see the abort');
    assert.ok(ms < 1000);
    assert.equal(rec.completed, false);
    const result = await done;
    assert.equal(result.aborted, true);
  });

  void test('cancelling (a revoked key) ends a running stream with an error line saying why, and Ollama sees the abort', async () => {
    const before = stack.fake.requests.length;
    const res = new Promise<{ error: boolean; bytes: number; text: string }>((resolve) => {
      let bytes = 0;
      let text = '';
      const req = http.request(
        { host: '127.0.0.1', port: stack.proxy.port, method: 'POST', path: '/api/generate', agent: false, headers: { 'x-fake-chunks': '200', 'x-fake-delay-ms': '50', 'x-test-revoke': 'k1' } },
        (r) => {
          r.on('data', (c: Buffer) => {
            bytes += c.length;
            text += c.toString();
            if (bytes > 0 && revoke.has('k1')) revoke.get('k1')?.abort(new WardenError(ErrorCode.AUTH_INVALID_KEY, 'key revoked'));
          });
          r.on('error', () => resolve({ error: true, bytes, text }));
          r.on('end', () => resolve({ error: false, bytes, text }));
        },
      );
      req.on('error', () => resolve({ error: true, bytes, text }));
      req.end(JSON.stringify({ model: 'llama3.2', prompt: 'long story' }));
    });
    const out = await res;
    const last = JSON.parse(out.text.trim().split('\n').at(-1)!) as { error?: string; done?: boolean };
    assert.equal(last.error, 'stream cut by Warden: key revoked', 'the client must be told why the stream ended');
    const rec = stack.fake.requests[before];
    assert.ok(rec);
    await waitFor(() => rec.aborted, 1000, 'the fake to see the abort');
  });

  void test('a request cancelled before it is sent gets the WardenError it carries and never reaches Ollama', async () => {
    const before = stack.fake.requests.length;
    const res = await request(stack.proxy.port, { path: '/api/version', headers: { 'x-test-cancel-now': '1' } });
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.body.toString()), { error: 'key revoked' });
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="warden", error="invalid_token"', 'a revoked key is an invalid token (RFC 6750 §3.1)');
    assert.equal(stack.fake.requests.length, before);
  });

  void test('Ollama dying mid-answer ends the stream with an error line, so a truncated answer never looks complete', async () => {
    const done = nextResult(stack.proxy);
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: stack.proxy.port, method: 'POST', path: '/api/generate', agent: false, headers: { 'x-fake-chunks': '10', 'x-fake-die-after': '3' } },
        (r) => {
          let text = '';
          r.on('data', (d: Buffer) => (text += d.toString()));
          r.on('end', () => resolve(text));
          r.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'llama3.2', prompt: 'x' }));
    });
    const lines = body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { done?: boolean; error?: string });
    assert.equal(lines.length, 4, 'three answer lines and the error line');
    assert.ok(lines.every((l) => l.done !== true), 'no line claims the answer is done');
    assert.equal(lines[3]?.error, 'answer cut: upstream Ollama failed mid-answer', 'the line does not name the internal upstream URL');
    const result = await done;
    assert.equal(result.status, 200);
    assert.match(result.error ?? '', /upstream failed mid-answer/);
  });

  void test('a client that stops reading is cut after the stall timeout and Ollama is released', async () => {
    const before = stack.fake.requests.length;
    const done = nextResult(stack.proxy);
    const answer = requestHead(stack.proxy.port, {
      method: 'POST',
      path: '/api/generate',
      headers: { 'x-fake-chunks': '400', 'x-fake-pad-bytes': String(64 * 1024), 'x-fake-delay-ms': '0', 'x-test-stall-ms': '300' },
      body: JSON.stringify({ model: 'llama3.2', prompt: 'x' }),
    }).catch(() => null);
    void answer.then((r) => r?.pause());
    const result = await done;
    assert.equal(result.aborted, true);
    assert.equal(result.error, 'client stopped reading');
    const rec = stack.fake.requests[before];
    assert.ok(rec);
    await waitFor(() => rec.aborted, 1000, 'the fake to see the abort');
    (await answer)?.destroy();
  });

  void test('the model list is filtered and Content-Length matches the new body', async () => {
    const res = await request(stack.proxy.port, { path: '/api/tags' });
    assert.equal(res.status, 200);
    const names = (JSON.parse(res.body.toString()) as { models: { name: string }[] }).models.map((m) => m.name);
    assert.deepEqual(names, ['llama3.2:latest']);
    assert.equal(Number(res.headers['content-length']), res.body.length);
  });

  void test('Ollama errors pass through with their status and body', async () => {
    const res = await request(stack.proxy.port, { method: 'POST', path: '/api/show', body: JSON.stringify({ model: 'nope' }) });
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body.toString()), { error: 'model "nope" not found, try pulling it first' });
  });
});

void describe('forward: unreachable Ollama', () => {
  void test('answers 502 with the upstream URL within a few seconds when nothing listens', async () => {
    const upstreams = createUpstreams([await deadUrl()]);
    const proxy = await startProxy(upstreams);
    try {
      const res = await request(proxy.port, { method: 'POST', path: '/api/generate', body: JSON.stringify({ model: 'llama3.2' }) });
      assert.equal(res.status, 502);
      assert.deepEqual(JSON.parse(res.body.toString()), { error: 'upstream Ollama is unreachable' });
      assert.ok(res.endTime < 3500, `took ${res.endTime.toFixed(0)} ms`);
      assert.equal(upstreams.status()[0]?.reachable, false);
    } finally {
      await proxy.close();
      await upstreams.close(0);
    }
  });
});

void describe('forward: idle timeouts', () => {
  // the listener cuts sockets idle for 300 ms; the generation pauses 700 ms between tokens
  const stack = withProxy({ harness: { serverTimeoutMs: 300 } });

  void test('a stream that pauses longer than the listener socket timeout is not cut (docs/design.md §5: >= 10 min)', async () => {
    const res = await request(stack.proxy.port, {
      method: 'POST',
      path: '/api/generate',
      headers: { 'x-fake-chunks': '3', 'x-fake-delay-ms': '700' },
      body: JSON.stringify({ model: 'llama3.2', prompt: 'think hard' }),
    });
    assert.equal(res.status, 200);
    const lines = res.body.toString().trim().split('\n');
    assert.equal(lines.length, 4);
    assert.equal((JSON.parse(lines.at(-1) ?? '{}') as { done: boolean }).done, true);
  });
});
