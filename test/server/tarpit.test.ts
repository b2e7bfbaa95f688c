// Where held refusals wait (src/server/tarpit.ts): each for its pause, all at once on shutdown,
// and never more than its bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tarpit } from '../../src/server/tarpit.ts';

test('a held refusal waits its pause, and is forgotten after it', async () => {
  const t = new Tarpit();
  const t0 = performance.now();
  const p = t.hold(30);
  assert.equal(t.size, 1);
  assert.equal(await p, 'waited');
  assert.ok(performance.now() - t0 >= 25, 'let go before its pause');
  assert.equal(t.size, 0);
});

test('release lets every held refusal go at once, and nothing is held after it (shutdown)', async () => {
  const t = new Tarpit();
  const held = [t.hold(60_000), t.hold(60_000), t.hold(60_000)];
  t.release();
  assert.deepEqual(await Promise.all(held), ['released', 'released', 'released']);
  assert.equal(t.size, 0);
  assert.equal(await t.hold(60_000), 'released', 'held after shutdown began');
  assert.equal(t.size, 0);
});

test('past its bound a refusal is not held', async () => {
  const t = new Tarpit(2);
  const held = [t.hold(60_000), t.hold(60_000)];
  assert.equal(await t.hold(60_000), 'full');
  assert.equal(t.size, 2);
  t.release();
  await Promise.all(held);
});
