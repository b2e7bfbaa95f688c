import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, createLockout } from '../../src/auth/lockout.ts';

function clock(start = 1_000_000): { now: () => number; advance: (s: number) => void } {
  let t = start;
  return { now: () => t, advance: (s) => (t += s * 1000) };
}

test('a brute-forcing address is locked out after `failures` failures within the window (429)', () => {
  const c = clock();
  const l = createLockout({ failures: 5, windowSeconds: 60, lockoutSeconds: 300, now: c.now });
  for (let i = 0; i < 4; i++) assert.equal(l.fail('203.0.113.9'), 0);
  assert.equal(l.isLocked('203.0.113.9'), 0);
  assert.equal(l.fail('203.0.113.9'), 300);
  assert.equal(l.isLocked('203.0.113.9'), 300);
  c.advance(100);
  assert.equal(l.isLocked('203.0.113.9'), 200, 'Retry-After counts down');
  c.advance(200);
  assert.equal(l.isLocked('203.0.113.9'), 0, 'the lockout ends');
});

test('failures spread wider than the window do not lock (a typo now and then is fine)', () => {
  const c = clock();
  const l = createLockout({ failures: 3, windowSeconds: 60, lockoutSeconds: 300, now: c.now });
  for (let i = 0; i < 10; i++) {
    l.fail('198.51.100.1');
    c.advance(40);
    l.fail('198.51.100.1');
    c.advance(61);
  }
  assert.equal(l.isLocked('198.51.100.1'), 0);
});

test('one address being locked does not lock another', () => {
  const l = createLockout({ failures: 2, windowSeconds: 60, lockoutSeconds: 60, now: clock().now });
  l.fail('192.0.2.1');
  l.fail('192.0.2.1');
  assert.ok(l.isLocked('192.0.2.1') > 0);
  assert.equal(l.isLocked('192.0.2.2'), 0);
});

test('failures slow the address down before it is locked out', () => {
  const l = createLockout({ failures: 10, windowSeconds: 60, lockoutSeconds: 60, now: clock().now });
  assert.equal(l.delayMs('192.0.2.7'), 0);
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    l.fail('192.0.2.7');
    delays.push(l.delayMs('192.0.2.7'));
  }
  assert.equal(delays[0], 0, 'one failure costs nothing');
  assert.ok((delays[8] ?? 0) > (delays[5] ?? 0) && (delays[5] ?? 0) > 0, `delays grow: ${delays.join(',')}`);
  assert.ok(delays.every((d) => d <= 2000));
});

test('a success clears the failure count', () => {
  const l = createLockout({ failures: 3, windowSeconds: 60, lockoutSeconds: 60, now: clock().now });
  l.fail('192.0.2.8');
  l.fail('192.0.2.8');
  l.succeed('192.0.2.8');
  l.fail('192.0.2.8');
  l.fail('192.0.2.8');
  assert.equal(l.isLocked('192.0.2.8'), 0);
});

test('a success does not end a running lockout (one valid key must not unlock guessing)', () => {
  const l = createLockout({ failures: 2, windowSeconds: 60, lockoutSeconds: 60, now: clock().now });
  l.fail('192.0.2.9');
  l.fail('192.0.2.9');
  l.succeed('192.0.2.9');
  assert.ok(l.isLocked('192.0.2.9') > 0);
});

test('IPv6 addresses are counted per /64, so rotating the interface id does not escape', () => {
  const l = createLockout({ failures: 3, windowSeconds: 60, lockoutSeconds: 60, now: clock().now });
  l.fail('2001:db8:1:2::1');
  l.fail('2001:db8:1:2:aaaa::5');
  l.fail('2001:0db8:0001:0002:ffff:ffff:ffff:ffff');
  assert.ok(l.isLocked('2001:db8:1:2::99') > 0);
  assert.equal(l.isLocked('2001:db8:1:3::1'), 0, 'the next /64 is someone else');
});

test('IPv4-mapped IPv6 is the same client as plain IPv4', () => {
  assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
});

test('memory is bounded: a botnet of addresses never grows the map past maxEntries', () => {
  const l = createLockout({ failures: 5, windowSeconds: 60, lockoutSeconds: 60, now: clock().now, maxEntries: 1000 });
  for (let i = 0; i < 20_000; i++) {
    const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    l.fail(addr);
    l.fail(addr);
  }
  assert.equal(l.size, 1000);
});

test('a flood with a new address per attempt allocates no entry; an address failing again is counted from its first failure', () => {
  const c = clock();
  const l = createLockout({ failures: 4, windowSeconds: 60, lockoutSeconds: 60, now: c.now });
  for (let i = 0; i < 20_000; i++) l.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  assert.equal(l.size, 0, 'one failure per address: nothing kept per address');
  // The first failure still counts: four within the window lock, as without the table.
  assert.deepEqual([1, 2, 3, 4].map(() => l.fail('203.0.113.50')), [0, 0, 0, 60]);
  // A first failure older than the window does not.
  l.fail('203.0.113.51');
  c.advance(61);
  assert.deepEqual([1, 2, 3].map(() => l.fail('203.0.113.51')), [0, 0, 0]);
  assert.equal(l.isLocked('203.0.113.51'), 0);
  // A success forgets a first failure, as it clears a count; so does `lockout clear`.
  l.fail('203.0.113.52');
  l.succeed('203.0.113.52');
  assert.deepEqual([1, 2, 3].map(() => l.fail('203.0.113.52')), [0, 0, 0]);
  l.fail('203.0.113.53');
  assert.equal(l.clear('203.0.113.53'), true);
  assert.deepEqual([1, 2, 3].map(() => l.fail('203.0.113.53')), [0, 0, 0]);
});

test('bad options are refused at creation', () => {
  assert.throws(() => createLockout({ failures: 0, windowSeconds: 60, lockoutSeconds: 60 }), TypeError);
  assert.throws(() => createLockout({ failures: 3, windowSeconds: 1.5, lockoutSeconds: 60 }), TypeError);
});

test('a locked-out flood is held back past its burst, and the burst refills with time (tarpit)', () => {
  const c = clock();
  const l = createLockout({ failures: 2, windowSeconds: 60, lockoutSeconds: 300, tarpitBurst: 3, now: c.now });
  assert.equal(l.holdBack('192.0.2.7'), false, 'an address that is not locked is never held');
  l.fail('192.0.2.7');
  l.fail('192.0.2.7');
  assert.deepEqual([1, 2, 3, 4, 5].map(() => l.holdBack('192.0.2.7')), [false, false, false, true, true], 'three at once, then held');
  c.advance(0.34);
  assert.equal(l.holdBack('192.0.2.7'), false, 'a third of a second refills one of three per second');
  assert.equal(l.holdBack('192.0.2.7'), true);
  c.advance(60);
  assert.deepEqual([1, 2, 3, 4].map(() => l.holdBack('192.0.2.7')), [false, false, false, true], 'the bucket holds no more than the burst');
  assert.equal(l.holdBack('192.0.2.8'), false, 'other addresses are not affected');
});

test('list shows locked addresses (IPv6 as its /64) and clear ends a lockout early', () => {
  let t = 1_000_000;
  const l = createLockout({ failures: 2, windowSeconds: 60, lockoutSeconds: 30, now: () => t });
  l.fail('203.0.113.9');
  l.fail('203.0.113.9');
  l.fail('2001:db8:1:2::5');
  l.fail('2001:db8:1:2::6');
  l.fail('198.51.100.1'); // one failure: not locked, not listed
  assert.deepEqual(
    l.list().map((e) => [e.address, e.lockedForSeconds]),
    [
      ['203.0.113.9', 30],
      ['2001:db8:1:2::/64', 30],
    ],
  );
  assert.equal(l.clear('2001:db8:1:2::/64'), true);
  assert.equal(l.isLocked('2001:db8:1:2::7'), 0);
  assert.equal(l.clear('2001:db8:1:2::/64'), false, 'nothing left to clear');
  assert.equal(l.clear('203.0.113.9'), true);
  assert.equal(l.isLocked('203.0.113.9'), 0);
  t += 1;
  assert.deepEqual(l.list(), []);
});
