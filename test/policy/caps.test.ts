// Per-key caps merged with the server's: the cap in force is the lower of the two (null = no cap
// on that side), the server's mode applies to both, and a refusal names whose limit it was.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileCaps, keyCapsOf, type CapsConfig, type CapVerdict, type KeyCaps } from '../../src/policy/caps.ts';
import { WardenError } from '../../src/errors.ts';

const NO_CAPS: CapsConfig = { mode: 'refuse', numCtx: null, numPredict: null, keepAlive: null };
const keyCaps = (over: Partial<KeyCaps>): KeyCaps => ({ numCtx: null, numPredict: null, keepAlive: null, ...over });
const chat = (extra: Record<string, unknown>): Record<string, unknown> => ({ model: 'llama3.2', messages: [], ...extra });

function changed(v: CapVerdict): { body: Record<string, unknown>; notes: string[] } {
  assert.ok(!(v instanceof WardenError) && v.changed, `expected a rewritten body, got ${JSON.stringify(v)}`);
  return v;
}

function refused(v: CapVerdict): WardenError {
  assert.ok(v instanceof WardenError, `expected a refusal, got ${JSON.stringify(v)}`);
  assert.equal(v.status, 403);
  return v;
}

describe('keyCapsOf', () => {
  it('is null for a key without caps, so the gateway can skip the caps entirely', () => {
    assert.equal(keyCapsOf({ capNumCtx: null, capNumPredict: null, capKeepAlive: null }), null);
  });

  it('carries every field when any one is set', () => {
    assert.deepEqual(keyCapsOf({ capNumCtx: null, capNumPredict: 64, capKeepAlive: null }), { numCtx: null, numPredict: 64, keepAlive: null });
    assert.deepEqual(keyCapsOf({ capNumCtx: 2048, capNumPredict: null, capKeepAlive: 60 }), { numCtx: 2048, numPredict: null, keepAlive: 60 });
  });
});

describe('per-key caps without server caps', () => {
  const caps = compileCaps(NO_CAPS);

  it('leaves the server inactive (the fast path) but still applies a key cap', () => {
    assert.equal(caps.active, false);
    const r = refused(caps.apply('POST /api/chat', chat({ options: { num_ctx: 4096 } }), keyCaps({ numCtx: 2048 })));
    assert.equal(r.message, "options.num_ctx 4096 is over this key's limit of 2048");
    assert.match(r.reason, /^caps: options\.num_ctx 4096 > 2048 \(key cap\)$/);
  });

  it('lets a value at or under the key cap through untouched', () => {
    assert.deepEqual(caps.apply('POST /api/chat', chat({ options: { num_ctx: 2048 } }), keyCaps({ numCtx: 2048 })), { ok: true, changed: false });
  });

  it('refuses keep_alive over the key cap in seconds, and -1 (forever) whatever the cap', () => {
    const k = keyCaps({ keepAlive: 600 });
    assert.equal(refused(caps.apply('POST /api/generate', { model: 'm', keep_alive: '1h' }, k)).message, "keep_alive 1h is over this key's limit of 600 seconds");
    refused(caps.apply('POST /api/embed', { model: 'm', keep_alive: -1 }, k));
    assert.ok(!(caps.apply('POST /api/generate', { model: 'm', keep_alive: '10m' }, k) instanceof WardenError));
  });

  it("fills in the key's num_predict when the request names none", () => {
    const out = changed(caps.apply('POST /v1/chat/completions', { model: 'm', messages: [] }, keyCaps({ numPredict: 128 })));
    assert.equal(out.body.max_tokens, 128);
    assert.deepEqual(out.notes, ['max_tokens unset→128 (key cap)']);
  });
});

describe('server and key caps together: the lower one is in force', () => {
  const refuse = compileCaps({ mode: 'refuse', numCtx: 8192, numPredict: 512, keepAlive: '30m' });

  it('the key cap when it is lower: names the key in the refusal', () => {
    const r = refused(refuse.apply('POST /api/chat', chat({ options: { num_ctx: 4096 } }), keyCaps({ numCtx: 2048 })));
    assert.equal(r.message, "options.num_ctx 4096 is over this key's limit of 2048");
  });

  it('the server cap when the key allows more: a key cannot loosen the server', () => {
    const r = refused(refuse.apply('POST /api/chat', chat({ options: { num_ctx: 100_000 } }), keyCaps({ numCtx: 1_000_000 })));
    assert.equal(r.message, "options.num_ctx 100000 is over this server's limit of 8192");
    assert.doesNotMatch(r.reason, /key cap/);
  });

  it('the server cap on a tie (lifting the key cap would not help)', () => {
    const r = refused(refuse.apply('POST /api/chat', chat({ options: { num_ctx: 9000 } }), keyCaps({ numCtx: 8192 })));
    assert.match(r.message, /this server's limit of 8192/);
  });

  it('per field: a key cap on one field leaves the server caps on the others', () => {
    const k = keyCaps({ numCtx: 2048 });
    assert.match(refused(refuse.apply('POST /api/chat', chat({ options: { num_ctx: 1024 }, keep_alive: '1h' }), k)).message, /keep_alive 1h is over this server's limit of 1800 seconds/);
    const out = changed(refuse.apply('POST /api/chat', chat({ options: { num_ctx: 1024 } }), k));
    assert.deepEqual(out.body.options, { num_ctx: 1024, num_predict: 512 }, "the server's num_predict is still filled in");
  });

  it('fills in the lower num_predict of the two', () => {
    assert.equal(changed(refuse.apply('POST /v1/completions', { model: 'm', prompt: '' }, keyCaps({ numPredict: 64 }))).body.max_tokens, 64);
    assert.equal(changed(refuse.apply('POST /v1/completions', { model: 'm', prompt: '' }, keyCaps({ numPredict: 4096 }))).body.max_tokens, 512);
  });

  it('a key without caps (null) gets exactly the server caps', () => {
    const body = chat({ options: { num_ctx: 4096 } });
    assert.deepEqual(refuse.apply('POST /api/chat', body, null), refuse.apply('POST /api/chat', body));
    assert.deepEqual(refuse.apply('POST /api/chat', body, keyCaps({})), refuse.apply('POST /api/chat', body));
  });
});

describe('clamp mode applies to key caps too', () => {
  const clamp = compileCaps({ mode: 'clamp', numCtx: 8192, numPredict: null, keepAlive: null });

  it("rewrites to the key's cap when it is the lower, and notes it for the audit log", () => {
    const input = chat({ options: { num_ctx: 131072, seed: 1 }, keep_alive: -1 });
    const out = changed(clamp.apply('POST /api/chat', input, keyCaps({ numCtx: 2048, numPredict: 100, keepAlive: 300 })));
    assert.deepEqual(out.body.options, { num_ctx: 2048, seed: 1, num_predict: 100 });
    assert.equal(out.body.keep_alive, 300);
    assert.deepEqual(out.notes, ['options.num_ctx 131072→2048 (key cap)', 'keep_alive unlimited→300 (key cap)', 'options.num_predict unset→100 (key cap)']);
    assert.deepEqual(input, chat({ options: { num_ctx: 131072, seed: 1 }, keep_alive: -1 }), 'the input is not modified');
  });

  it("rewrites to the server's cap when the key's is higher", () => {
    const out = changed(clamp.apply('POST /api/chat', chat({ options: { num_ctx: 131072 } }), keyCaps({ numCtx: 16384 })));
    assert.deepEqual(out.body.options, { num_ctx: 8192 });
    assert.deepEqual(out.notes, ['options.num_ctx 131072→8192']);
  });

  it('clamps with key caps alone (no server caps) as well', () => {
    const keyOnly = compileCaps({ ...NO_CAPS, mode: 'clamp' });
    const out = changed(keyOnly.apply('POST /v1/chat/completions', { model: 'm', messages: [], max_tokens: 9999, max_completion_tokens: 10 }, keyCaps({ numPredict: 256 })));
    assert.equal(out.body.max_tokens, 256);
    assert.equal(out.body.max_completion_tokens, 10);
  });
});

describe('no caps on either side', () => {
  const caps = compileCaps(NO_CAPS);
  const wild = chat({ options: { num_ctx: 1e9, num_predict: -1 }, keep_alive: -1 });

  it('changes nothing, for a missing key cap or an all-null one', () => {
    for (const k of [undefined, null]) assert.deepEqual(caps.apply('POST /api/chat', wild, k), { ok: true, changed: false });
  });

  it('does not even look at the body (no allocation, no validation)', () => {
    // A body the capped path would refuse ("options" not an object) passes untouched.
    assert.deepEqual(caps.apply('POST /api/chat', { model: 'm', options: 'x' }), { ok: true, changed: false });
    const first = caps.apply('POST /api/chat', wild);
    assert.equal(caps.apply('POST /api/generate', wild), first, 'the same frozen verdict every time');
  });

  it('ignores routes without cap fields even when the key has caps', () => {
    assert.deepEqual(caps.apply('POST /api/show', { model: 'm', options: { num_ctx: 1e9 } }, keyCaps({ numCtx: 1 })), { ok: true, changed: false });
  });
});
