// The server-wide brake on failed authentication (src/auth/flood-brake.ts): a burst per second
// from all addresses together is answered at once, the rest is held; the two kinds of failure
// (a wrong credential, none at all) do not slow each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFloodBrake } from '../../src/auth/flood-brake.ts';

function clock(): { now: () => number; advance: (seconds: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (s) => (t += s * 1000) };
}

test('past the burst every failure is held, and the burst refills at its own rate per second', () => {
  const c = clock();
  const b = createFloodBrake({ burst: 3, now: c.now });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => b.holdBack('failed')), [false, false, false, true, true], 'three at once, then held');
  c.advance(0.34);
  assert.equal(b.holdBack('failed'), false, 'a third of a second refills one of three per second');
  assert.equal(b.holdBack('failed'), true);
  c.advance(3600);
  assert.deepEqual([1, 2, 3, 4].map(() => b.holdBack('failed')), [false, false, false, true], 'the bucket holds no more than the burst');
});

test('a flood of wrong keys does not hold requests without any key, nor the other way round', () => {
  const c = clock();
  const b = createFloodBrake({ burst: 2, now: c.now });
  for (let i = 0; i < 100; i++) b.holdBack('failed');
  assert.equal(b.holdBack('failed'), true);
  assert.deepEqual([b.holdBack('missing'), b.holdBack('missing'), b.holdBack('missing')], [false, false, true], 'keyless requests: a burst of their own');
  c.advance(1);
  for (let i = 0; i < 100; i++) b.holdBack('missing');
  assert.equal(b.holdBack('failed'), false);
});

test('a clock that steps back does not drain or overfill the bucket', () => {
  const c = clock();
  const b = createFloodBrake({ burst: 2, now: c.now });
  b.holdBack('failed');
  c.advance(-10);
  assert.equal(b.holdBack('failed'), false);
  assert.equal(b.holdBack('failed'), true);
});

test('the burst must be a positive integer', () => {
  for (const burst of [0, -1, 1.5, Number.NaN]) assert.throws(() => createFloodBrake({ burst }), TypeError, String(burst));
});
