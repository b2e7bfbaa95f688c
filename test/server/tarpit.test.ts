// Where held refusals wait (src/server/tarpit.ts): each for its pause, all at once on shutdown,
// never more than its bound, and never so many from one trusted proxy that it runs out of
// connections for its other clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tarpit } from '../../src/server/tarpit.ts';

test('a held refusal waits its pause, and is forgotten after it', async () => {
  const t = new Tarpit({ perProxy: 2 });
  const t0 = performance.now();
  const p = t.hold(30, null);
  assert.equal(t.size, 1);
  assert.equal(await p, 'waited');
  assert.ok(performance.now() - t0 >= 25, 'let go before its pause');
  assert.equal(t.size, 0);
});

test('release lets every held refusal go at once, and nothing is held after it (shutdown)', async () => {
  const t = new Tarpit({ perProxy: 2 });
  const held = [t.hold(60_000, null), t.hold(60_000, null), t.hold(60_000, '10.0.0.5')];
  t.release();
  assert.deepEqual(await Promise.all(held), ['released', 'released', 'released']);
  assert.equal(t.size, 0);
  assert.equal(await t.hold(60_000, null), 'released', 'held after shutdown began');
  assert.equal(t.size, 0);
});

test('past its bound a refusal is not held', async () => {
  const t = new Tarpit({ perProxy: 10, max: 2 });
  const held = [t.hold(60_000, null), t.hold(60_000, '10.0.0.5')];
  assert.equal(await t.hold(60_000, null), 'full');
  assert.equal(t.size, 2);
  t.release();
  await Promise.all(held);
});

test('one trusted proxy gets at most perProxy refusals held; its slots free up as their pauses end', async () => {
  const t = new Tarpit({ perProxy: 2 });
  const first = t.hold(40, '10.0.0.5');
  const second = t.hold(60_000, '10.0.0.5');
  assert.equal(await t.hold(60_000, '10.0.0.5'), 'busy', 'a third one through the same proxy');
  const other = t.hold(60_000, '10.0.0.6');
  const direct = [t.hold(60_000, null), t.hold(60_000, null), t.hold(60_000, null)];
  assert.equal(t.size, 6, 'another proxy and direct clients are not limited by it');
  assert.equal(await first, 'waited');
  assert.equal(t.size, 5);
  const again = t.hold(60_000, '10.0.0.5');
  assert.equal(t.size, 6, 'a slot of the proxy came free when its pause ended');
  t.release();
  assert.deepEqual(await Promise.all([second, other, again, ...direct]), Array(6).fill('released'));
});
