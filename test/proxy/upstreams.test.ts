// Several Ollama servers: health-checked over real sockets, routed to the one that has the model,
// least in-flight first, a dead one skipped — and a request through the proxy lands where pick() says.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { createUpstreams, type Upstreams } from '../../src/proxy/upstreams.ts';
import { deadUrl, request, startProxy, waitFor, type ProxyHarness } from './harness.ts';

void describe('upstreams: routing across several Ollama servers', () => {
  let a: FakeOllama;
  let b: FakeOllama;
  let dead: string;
  let upstreams: Upstreams;
  let proxy: ProxyHarness;

  before(async () => {
    a = await startFakeOllama({ models: ['llama3.2:latest', 'shared:1b'], version: '0.12.0' });
    b = await startFakeOllama({ models: ['qwen2.5:7b', 'shared:1b'], version: '0.12.1' });
    dead = await deadUrl();
    upstreams = createUpstreams([dead, a.url, b.url], { healthIntervalMs: 200, modelsIntervalMs: 200, probeTimeoutMs: 1000 });
    await upstreams.probe();
    proxy = await startProxy(upstreams);
  });
  after(async () => {
    await proxy.close();
    await upstreams.close(0);
    await Promise.all([a.close(), b.close()]);
  });

  void test('status reports reachability and version per upstream; the dead one is unreachable', () => {
    const byUrl = new Map(upstreams.status().map((s) => [s.url, s]));
    assert.equal(byUrl.get(dead)?.reachable, false);
    assert.equal(byUrl.get(a.url)?.reachable, true);
    assert.equal(byUrl.get(a.url)?.version, '0.12.0');
    assert.equal(byUrl.get(b.url)?.version, '0.12.1');
    assert.equal(byUrl.get(b.url)?.models, 2);
  });

  void test('a model is routed to the upstream that has it (bare names mean :latest)', () => {
    const cases = [
      { model: 'llama3.2', want: a.url },
      { model: 'llama3.2:latest', want: a.url },
      { model: 'qwen2.5:7b', want: b.url },
    ];
    for (const c of cases) {
      for (let i = 0; i < 5; i++) assert.equal(upstreams.pick(c.model).url, c.want, `model ${c.model}`);
    }
  });

  void test('the unreachable upstream is never picked, even for unknown models or none', () => {
    for (const model of [null, 'unknown:1b', 'shared:1b']) {
      for (let i = 0; i < 6; i++) assert.notEqual(upstreams.pick(model).url, dead, `model ${String(model)}`);
    }
  });

  void test('among upstreams that have the model, the least in-flight wins', () => {
    const upA = upstreams.list.find((u) => u.url === a.url);
    assert.ok(upA);
    upA.begin();
    upA.begin();
    try {
      for (let i = 0; i < 5; i++) assert.equal(upstreams.pick('shared:1b').url, b.url);
    } finally {
      upA.end();
      upA.end();
    }
    const picks = new Set(Array.from({ length: 6 }, () => upstreams.pick('shared:1b').url));
    assert.deepEqual([...picks].sort(), [a.url, b.url].sort(), 'equal load should be shared');
  });

  void test('a request through the proxy reaches the upstream that has its model', async () => {
    const beforeA = a.requests.length;
    const beforeB = b.requests.length;
    const res = await request(proxy.port, { method: 'POST', path: '/api/chat', body: JSON.stringify({ model: 'qwen2.5:7b', messages: [], stream: false }) });
    assert.equal(res.status, 200);
    assert.equal(b.requests.length - beforeB >= 1, true);
    assert.equal(
      a.requests.slice(beforeA).some((r) => r.url === '/api/chat'),
      false,
      'the chat went to the upstream without the model',
    );
  });

  void test('an upstream that goes down is skipped after the next health check, and its models learned anew', async () => {
    b.setModels(['qwen2.5:7b', 'shared:1b', 'new-model:3b']);
    await waitFor(() => upstreams.pick('new-model:3b').url === b.url, 2000, 'the new model list');
    b.setFailure(500);
    try {
      await waitFor(() => upstreams.status().find((s) => s.url === b.url)?.reachable === false, 2000, 'b to be marked down');
      for (let i = 0; i < 5; i++) assert.equal(upstreams.pick('qwen2.5:7b').url, a.url, 'falls back to any healthy upstream');
    } finally {
      b.setFailure(null);
    }
    await waitFor(() => upstreams.status().find((s) => s.url === b.url)?.reachable === true, 2000, 'b to come back');
  });
});

void describe('upstreams: a single upstream', () => {
  void test('probe() reports a live server for `warden status`, and unreachable when it is gone', async () => {
    const fake = await startFakeOllama({ version: '0.12.3' });
    const ups = createUpstreams([fake.url]);
    try {
      const [s] = await ups.probe();
      assert.deepEqual({ reachable: s?.reachable, version: s?.version, inFlight: s?.inFlight }, { reachable: true, version: '0.12.3', inFlight: 0 });
      await fake.close();
      const [gone] = await ups.probe();
      assert.equal(gone?.reachable, false);
    } finally {
      await ups.close(0);
    }
  });
});
