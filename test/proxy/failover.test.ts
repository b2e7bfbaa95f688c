// Failover before the first byte (docs/design.md §5): a request whose upstream refuses
// the connection, resets it without an answer, or hangs (first-byte limit, failed health probe)
// is sent once more to another healthy upstream with the model; once the answer has begun, a
// broken stream ends with an error line in its own format instead of a silent cut.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { createUpstreams, type Upstreams } from '../../src/proxy/upstreams.ts';
import type { ForwardOptions } from '../../src/proxy/forward.ts';
import { deadUrl, request, startProxy, waitFor, type ProxyHarness } from './harness.ts';

const MODEL = 'llama3.2:latest';

function chat(stream: boolean, extra: Record<string, string> = {}): Parameters<typeof request>[1] {
  return { method: 'POST', path: '/api/chat', headers: { 'content-type': 'application/json', ...extra }, body: JSON.stringify({ model: MODEL, messages: [], stream }) };
}

void describe('failover before the first byte', () => {
  let a: FakeOllama;
  let b: FakeOllama;
  let upstreams: Upstreams;
  let proxy: ProxyHarness;
  /** What each proxied request gets on top of the defaults (set per test). */
  let tweak: Partial<ForwardOptions> = {};

  before(async () => {
    a = await startFakeOllama({ models: [MODEL], delayMs: 5 });
    b = await startFakeOllama({ models: [MODEL], delayMs: 5 });
    // no periodic checks: each test decides when a probe runs
    upstreams = createUpstreams([a.url, b.url], { healthCheck: false, probeTimeoutMs: 500 });
    await upstreams.probe();
    proxy = await startProxy(upstreams, {
      tweak: () => ({ upstream: upstreams.list[0]!, failover: (tried) => upstreams.pickOther(MODEL, tried), ...tweak }),
    });
  });
  afterEach(async () => {
    a.setBehaviour(null);
    b.setBehaviour(null);
    tweak = {};
    await upstreams.probe();
  });
  after(async () => {
    await proxy.close();
    await upstreams.close(0);
    await Promise.all([a.close(), b.close()]);
  });

  const last = (): (typeof proxy.results)[number] => proxy.results[proxy.results.length - 1]!;

  void test('a connection reset before any answer is retried once on the other upstream; the client sees one clean answer', async () => {
    a.setBehaviour('reset');
    const bBefore = b.requests.length;
    const res = await request(proxy.port, chat(true));
    assert.equal(res.status, 200);
    const lines = res.body.toString().trim().split('\n').map((l) => JSON.parse(l) as { done?: boolean; error?: string });
    assert.equal(lines.at(-1)?.done, true);
    assert.ok(lines.every((l) => l.error === undefined));
    assert.equal(b.requests.length - bBefore, 1, 'b answered it');
    assert.equal(last().failedOver, a.url);
    assert.equal(last().upstream.url, b.url);
    assert.equal(upstreams.list[0]!.failovers >= 1, true);
  });

  void test('a refused connection (server gone) fails over too, and the dead upstream leaves rotation', async () => {
    const dead = await deadUrl();
    const ups = createUpstreams([dead, b.url], { healthCheck: false });
    const p = await startProxy(ups, { tweak: () => ({ upstream: ups.list[0]!, failover: (tried) => ups.pickOther(MODEL, tried) }) });
    try {
      const res = await request(p.port, chat(false));
      assert.equal(res.status, 200);
      assert.equal(p.results[0]?.failedOver, dead);
      assert.equal(ups.list[0]!.reachable, false);
      assert.equal(ups.pick(MODEL).url, b.url);
    } finally {
      await p.close();
      await ups.close(0);
    }
  });

  void test('without a failover (mutating routes) a reset is answered 502 and nothing is sent twice', async () => {
    a.setBehaviour('reset');
    tweak = { failover: undefined };
    const bBefore = b.requests.length;
    const res = await request(proxy.port, { method: 'POST', path: '/api/pull', body: JSON.stringify({ model: MODEL }) });
    assert.equal(res.status, 502);
    assert.match(res.body.toString(), /unreachable/);
    assert.equal(b.requests.length, bBefore, 'the pull never reached b');
  });

  void test('both upstreams failing: retried once only, then 502', async () => {
    a.setBehaviour('reset');
    b.setBehaviour('reset');
    const aBefore = a.requests.length;
    const bBefore = b.requests.length;
    const res = await request(proxy.port, chat(true));
    assert.equal(res.status, 502);
    assert.equal(a.requests.length - aBefore + (b.requests.length - bBefore), 2);
  });

  void test('a hung upstream (no response head within the first-byte limit) is failed over', async () => {
    a.setBehaviour('hang');
    tweak = { firstByteTimeoutMs: 300 };
    const res = await request(proxy.port, chat(true));
    assert.equal(res.status, 200);
    assert.equal(last().failedOver, a.url);
    assert.ok(res.endTime >= 250, `waited for the limit (${res.endTime} ms)`);
  });

  void test('with nowhere to go, a hung upstream answers 504 at the first-byte limit', async () => {
    const ups = createUpstreams([a.url], { healthCheck: false });
    const p = await startProxy(ups, { tweak: () => ({ failover: (tried) => ups.pickOther(MODEL, tried), firstByteTimeoutMs: 200 }) });
    a.setBehaviour('hang');
    try {
      const res = await request(p.port, chat(true));
      assert.equal(res.status, 504);
      assert.match(res.body.toString(), /did not answer in time/);
    } finally {
      await p.close();
      await ups.close(0);
    }
  });

  void test('requests waiting on an upstream whose health probe fails are moved to another one at once', async () => {
    a.setBehaviour('hang');
    const pending = request(proxy.port, chat(true));
    await waitFor(() => a.requests.some((r) => r.url === '/api/chat' && !r.completed && !r.aborted), 2000, 'the chat to reach a');
    const t0 = performance.now();
    await upstreams.probe(); // times out after probeTimeoutMs: a is hung
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(last().failedOver, a.url);
    assert.ok(performance.now() - t0 < 2000);
  });

  void test('an NDJSON stream broken after its first bytes ends with an error line, not a silent cut', async () => {
    const res = await request(proxy.port, chat(true, { 'x-fake-die-after': '2', 'x-fake-chunks': '6' }));
    assert.equal(res.status, 200);
    const lines = res.body.toString().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 3);
    const tail = JSON.parse(lines[2]!) as { error?: string };
    assert.match(tail.error ?? '', /failed mid-answer/);
    assert.match(last().error ?? '', /mid-answer/);
    assert.equal(last().failedOver, undefined, 'never retried once bytes went out');
  });
});

void describe('error line of an SSE stream', () => {
  test('an OpenAI-style stream cut by the upstream ends with an SSE error event', async () => {
    // The fake ends SSE streams cleanly; a tiny upstream that dies mid-event stands in for a crash.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[{"delta":{"content":"he');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const ups = createUpstreams([`http://127.0.0.1:${(server.address() as AddressInfo).port}`], { healthCheck: false });
    const p = await startProxy(ups);
    try {
      const res = await request(p.port, { method: 'POST', path: '/v1/chat/completions', body: JSON.stringify({ model: MODEL, stream: true }) });
      const text = res.body.toString();
      const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
      const tail = JSON.parse(events.at(-1)!.slice('data: '.length)) as { error?: { message?: string; type?: string } };
      assert.match(tail.error?.message ?? '', /failed mid-answer/);
      assert.equal(tail.error?.type, 'api_error');
    } finally {
      await p.close();
      await ups.close(0);
      server.closeAllConnections();
      server.close();
    }
  });
});
