// Fleet metrics: per-model and per-key series with bounded label cardinality,
// per-upstream series read from the live Upstream objects, and process metrics named once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MODELS, Metrics } from '../../src/server/metrics.ts';
import { createUpstreams } from '../../src/proxy/upstreams.ts';

const gauges = { connections: () => 0, keys: () => ({ active: 1, revoked: 0, expired: 0 }) };

test('process metrics are warden_process_*, never warden_process_process_*', async () => {
  const text = await new Metrics(gauges).registry.metrics();
  assert.match(text, /^warden_process_cpu_seconds_total /m);
  assert.doesNotMatch(text, /warden_process_process_/);
});

test('a flood of distinct model names cannot grow the registry: past the bound they count as "other"', async () => {
  const m = new Metrics(gauges);
  for (let i = 0; i < MAX_MODELS + 50; i++) {
    m.observeRequest({ model: `m${i}:1b`, keyId: 'k1', refused: false, promptTokens: 3, evalTokens: 10, firstByteMs: 120, streamMs: 500 });
  }
  const text = await m.registry.metrics();
  const series = text.split('\n').filter((l) => l.startsWith('warden_model_requests_total{'));
  assert.equal(series.length, MAX_MODELS + 1);
  assert.ok(series.includes('warden_model_requests_total{model="other"} 50'));
  assert.match(text, /^warden_key_requests_total\{key_id="k1"\} 150$/m);
  assert.match(text, /^warden_key_tokens_total\{key_id="k1"\} 1950$/m);
  assert.match(text, /^warden_model_time_to_first_byte_seconds_bucket\{le="0.25",model="m0:1b"\} 1$/m);
  // 10 eval tokens over 0.5 s of streaming = 20 tokens/s
  assert.match(text, /^warden_model_tokens_per_second_bucket\{le="20",model="m0:1b"\} 1$/m);
  assert.match(text, /^warden_model_tokens_per_second_bucket\{le="10",model="m0:1b"\} 0$/m);
});

test('a refused request counts for its key, not for the model', async () => {
  const m = new Metrics(gauges);
  m.observeRequest({ model: 'x:1b', keyId: 'k2', refused: true, promptTokens: null, evalTokens: null, firstByteMs: null, streamMs: null });
  const text = await m.registry.metrics();
  assert.match(text, /^warden_key_refusals_total\{key_id="k2"\} 1$/m);
  assert.doesNotMatch(text, /warden_model_requests_total\{model="x:1b"\}/);
});

test('per-upstream series: up, in flight, errors, failovers', async () => {
  const ups = createUpstreams(['http://127.0.0.1:9', 'http://127.0.0.1:10'], { healthCheck: false });
  try {
    const [a, b] = ups.list;
    a!.markUnreachable(new Error('refused'));
    a!.failovers = 2;
    a!.errors = 3;
    b!.begin();
    const text = await new Metrics({ ...gauges, upstreams: () => ups.list }).registry.metrics();
    assert.match(text, /^warden_upstream_up\{upstream="http:\/\/127.0.0.1:9"\} 0$/m);
    assert.match(text, /^warden_upstream_up\{upstream="http:\/\/127.0.0.1:10"\} 1$/m);
    assert.match(text, /^warden_upstream_in_flight\{upstream="http:\/\/127.0.0.1:10"\} 1$/m);
    assert.match(text, /^warden_upstream_failovers_total\{upstream="http:\/\/127.0.0.1:9"\} 2$/m);
    assert.match(text, /^warden_upstream_errors_total\{upstream="http:\/\/127.0.0.1:9"\} 3$/m);
  } finally {
    await ups.close(0);
  }
});
