import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReplayCache } from '../../src/auth/replay-cache.ts';

const sig = (n: number): Buffer => Buffer.alloc(64, n);

test('the first use of a signature is not a replay; the second is', () => {
  const c = createReplayCache();
  assert.equal(c.seen('AAAAkey', sig(1), 1000), false);
  assert.equal(c.seen('AAAAkey', sig(1), 1001), true);
});

test('the same signature bytes under another public key are a different entry', () => {
  const c = createReplayCache();
  assert.equal(c.seen('AAAAone', sig(1), 1000), false);
  assert.equal(c.seen('AAAAtwo', sig(1), 1000), false);
});

test('a signature is remembered for the whole ±300 s window (600 s), then forgotten', () => {
  const c = createReplayCache({ windowSeconds: 600 });
  c.seen('AAAAkey', sig(1), 1000);
  assert.equal(c.seen('AAAAkey', sig(1), 1599), true, 'still inside the window');
  const d = createReplayCache({ windowSeconds: 600 });
  d.seen('AAAAkey', sig(1), 1000);
  d.seen('AAAAkey', sig(2), 1700); // sweeps the expired entry
  assert.equal(d.size, 1);
});

test('memory is bounded: a flood of distinct signatures keeps at most maxEntries', () => {
  const c = createReplayCache({ maxEntries: 100 });
  for (let i = 0; i < 1000; i++) c.seen('AAAAkey', Buffer.from(String(i).padStart(64, '0')), 1000);
  assert.equal(c.size, 100);
  // the newest are kept, the oldest dropped
  assert.equal(c.seen('AAAAkey', Buffer.from('999'.padStart(64, '0')), 1000), true);
});

test('with duplicateGraceSeconds an identical header is accepted again shortly after, then refused', () => {
  const c = createReplayCache({ duplicateGraceSeconds: 2 });
  assert.equal(c.seen('AAAAkey', sig(1), 1000), false);
  assert.equal(c.seen('AAAAkey', sig(1), 1001), false, 'the CLI repeating a call within the second');
  assert.equal(c.seen('AAAAkey', sig(1), 1002), false);
  assert.equal(c.seen('AAAAkey', sig(1), 1003), true, 'a copy used later is a replay');
});

test('bad options are refused when the cache is made, not on first use', () => {
  assert.throws(() => createReplayCache({ maxEntries: 0 }), TypeError);
  assert.throws(() => createReplayCache({ windowSeconds: 0 }), TypeError);
  assert.throws(() => createReplayCache({ duplicateGraceSeconds: -1 }), TypeError);
});
