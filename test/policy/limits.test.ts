import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLimiter, type KeyLimits } from '../../src/policy/limits.ts';

function clock(): { now: () => number; advance: (s: number) => void } {
  let t = 5_000_000;
  return { now: () => t, advance: (s) => (t += s * 1000) };
}
const none: KeyLimits = { rpm: null, tpm: null, concurrency: null };

test('a key without limits is never limited and needs no state', () => {
  const l = createLimiter();
  for (let i = 0; i < 10_000; i++) {
    const d = l.check('key_a', none);
    assert.equal(d.ok, true);
    if (d.ok) d.release();
  }
});

test('requests per minute: the rpm+1-th request in a minute gets 429 with Retry-After', () => {
  const c = clock();
  const l = createLimiter({ now: c.now });
  const limits = { ...none, rpm: 3 };
  for (let i = 0; i < 3; i++) assert.equal(l.check('key_a', limits).ok, true, `request ${i + 1}`);
  const d = l.check('key_a', limits);
  assert.equal(d.ok, false);
  if (!d.ok) {
    assert.equal(d.reason, 'rpm');
    assert.ok(d.retryAfterSeconds >= 1 && d.retryAfterSeconds <= 20, `retry after ${d.retryAfterSeconds}`);
  }
  c.advance(20); // rpm 3 → one request back every 20 s
  assert.equal(l.check('key_a', limits).ok, true);
  assert.equal(l.check('key_a', limits).ok, false);
});

test('one key over its limit does not limit another key', () => {
  const l = createLimiter({ now: clock().now });
  const limits = { ...none, rpm: 1 };
  assert.equal(l.check('key_a', limits).ok, true);
  assert.equal(l.check('key_a', limits).ok, false);
  assert.equal(l.check('key_b', limits).ok, true);
});

test('concurrency: the n+1-th parallel request is refused until one is released', () => {
  const l = createLimiter({ now: clock().now });
  const limits = { ...none, concurrency: 2 };
  const a = l.check('key_a', limits);
  const b = l.check('key_a', limits);
  assert.ok(a.ok && b.ok);
  const c = l.check('key_a', limits);
  assert.equal(c.ok, false);
  if (!c.ok) assert.equal(c.reason, 'concurrency');
  a.release();
  a.release(); // idempotent: a double release must not free a second slot
  const d = l.check('key_a', limits);
  assert.equal(d.ok, true);
  assert.equal(l.check('key_a', limits).ok, false);
});

test('tokens per minute: usage charged after a response blocks the next request until refilled', () => {
  const c = clock();
  const l = createLimiter({ now: c.now });
  const limits = { ...none, tpm: 600 };
  const first = l.check('key_a', limits);
  assert.ok(first.ok);
  first.release();
  l.chargeTokens('key_a', 900); // prompt_eval_count + eval_count of the finished response
  const d = l.check('key_a', limits);
  assert.equal(d.ok, false);
  if (!d.ok) {
    assert.equal(d.reason, 'tpm');
    assert.equal(d.retryAfterSeconds, 31, 'budget is -300 and refills 10 tokens/s');
  }
  c.advance(31);
  assert.equal(l.check('key_a', limits).ok, true);
});

test('tokens per minute: a charge after idle time does not eat the refill it was owed', () => {
  const c = clock();
  const l = createLimiter({ now: c.now });
  const limits = { ...none, tpm: 600 };
  l.check('key_a', limits);
  l.chargeTokens('key_a', 600);
  c.advance(60); // fully refilled by now
  l.chargeTokens('key_a', 300);
  assert.equal(l.check('key_a', limits).ok, true, '600 refilled - 300 = 300 left');
});

test('a refused request consumes nothing', () => {
  const c = clock();
  const l = createLimiter({ now: c.now });
  const limits = { rpm: 2, tpm: null, concurrency: 1 };
  const held = l.check('key_a', limits);
  assert.ok(held.ok);
  for (let i = 0; i < 5; i++) assert.equal(l.check('key_a', limits).ok, false);
  held.release();
  assert.equal(l.check('key_a', limits).ok, true, 'the second rpm slot is still there');
});

test('bad token counts are ignored', () => {
  const l = createLimiter({ now: clock().now });
  const limits = { ...none, tpm: 10 };
  l.check('key_a', limits);
  for (const n of [NaN, -5, Infinity, 0]) l.chargeTokens('key_a', n);
  assert.equal(l.check('key_a', limits).ok, true);
});

test('release({ refund: true }) gives back the slot and the rpm token of a request refused by policy, once', () => {
  const c = clock();
  const l = createLimiter({ now: c.now });
  const limits = { ...none, rpm: 2, concurrency: 1 };
  for (let i = 0; i < 10; i++) {
    const d = l.check('key_a', limits);
    assert.equal(d.ok, true, `refused request ${i + 1} must not use the budget up`);
    if (d.ok) {
      d.release({ refund: true });
      d.release({ refund: true }); // idempotent: a second call refunds nothing more
    }
  }
  const a = l.check('key_a', limits);
  assert.equal(a.ok, true);
  if (a.ok) a.release();
  const b = l.check('key_a', limits);
  assert.equal(b.ok, true);
  if (b.ok) b.release();
  assert.equal(l.check('key_a', limits).ok, false, 'two served requests use the two rpm tokens');
});
