import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  checksum,
  generateKey,
  hashKey,
  keyForId,
  parseKey,
  randomBase62,
} from '../../src/auth/key-format.ts';

const KEY_RE = /^owk_([0-9A-Za-z]{16})_([0-9A-Za-z]{33})([0-9A-Za-z]{6})$/;

test('a new key has the documented shape owk_<id>_<secret><checksum>', () => {
  const { id, key } = generateKey();
  const m = KEY_RE.exec(key);
  assert.ok(m, `got ${key}, want owk_<16>_<33><6>`);
  assert.equal(id, `key_${m[1]}`, 'the key id inside the key maps to the record id');
  assert.match(id, /^key_[0-9A-Za-z]{16}$/);
  assert.equal(key.length, 4 + 16 + 1 + 33 + 6);
});

test('the secret carries at least 192 bits (33 base62 characters)', () => {
  assert.ok(33 * Math.log2(62) >= 192, `got ${33 * Math.log2(62)} bits`);
});

test('the checksum is the base62 CRC-32 of everything before it, as a scanner would compute it', () => {
  const { key } = generateKey();
  const body = key.slice(0, -6);
  // independent base62 encoding of the CRC, so this does not just call the code under test
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let n = crc32(body);
  let want = '';
  do {
    want = alphabet[n % 62] + want;
    n = Math.floor(n / 62);
  } while (n > 0);
  assert.equal(key.slice(-6), want.padStart(6, '0'));
});

test('a small CRC is zero-padded to 6 characters', () => {
  let i = 0;
  while (crc32(`pad${i}`) >= 62 ** 5) i++;
  const c = checksum(`pad${i}`);
  assert.equal(c.length, 6);
  assert.equal(c[0], '0');
});

test('keys and ids do not repeat (1000 draws)', () => {
  const keys = new Set<string>();
  const ids = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const k = generateKey();
    keys.add(k.key);
    ids.add(k.id);
  }
  assert.equal(keys.size, 1000);
  assert.equal(ids.size, 1000);
});

test('base62 randomness uses the whole alphabet without favouring early characters', () => {
  const s = randomBase62(62 * 400);
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  assert.equal(counts.size, 62);
  // with modulo bias (256 % 62 = 8) the first 8 characters would be ~25% more frequent
  const early = ['0', '1', '2', '3', '4', '5', '6', '7'].reduce((a, c) => a + (counts.get(c) ?? 0), 0) / 8;
  const late = ['w', 'x', 'y', 'z', 'W', 'X', 'Y', 'Z'].reduce((a, c) => a + (counts.get(c) ?? 0), 0) / 8;
  assert.ok(early / late < 1.15, `early/late ratio ${early / late}`);
});

test('rotation keeps the record id and changes the secret', () => {
  const { id, key } = generateKey();
  const rotated = keyForId(id);
  assert.notEqual(rotated, key);
  assert.equal(parseKey(rotated)?.id, id);
  assert.equal(parseKey(rotated)?.checksumOk, true);
  assert.throws(() => keyForId('key_short'), TypeError);
});

const good = generateKey().key;
const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);

const parseCases: Array<{ name: string; input: string; want: { id?: string; checksumOk: boolean } | null }> = [
  { name: 'a genuine key parses with a good checksum', input: good, want: { checksumOk: true } },
  { name: 'a typo in the secret is caught by the checksum (no store lookup)', input: flip(good, 30), want: { checksumOk: false } },
  { name: 'a typo in the key id is caught by the checksum', input: flip(good, 6), want: { checksumOk: false } },
  { name: 'a typo in the checksum itself is caught', input: flip(good, good.length - 1), want: { checksumOk: false } },
  { name: 'a made-up key of the right shape fails the checksum', input: `owk_${'A'.repeat(16)}_${'B'.repeat(39)}`, want: { checksumOk: false } },
  { name: 'an OpenAI-style key is not a Warden key', input: 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789', want: null },
  { name: 'a truncated key is not a Warden key', input: good.slice(0, -1), want: null },
  { name: 'a key with trailing whitespace is not a Warden key', input: `${good} `, want: null },
  { name: 'a key with a non-base62 character is not a Warden key', input: `${good.slice(0, 30)}-${good.slice(31)}`, want: null },
  { name: 'the wrong prefix is not a Warden key', input: `owx_${good.slice(4)}`, want: null },
  { name: 'the empty string is not a key', input: '', want: null },
];

for (const c of parseCases) {
  test(`parseKey: ${c.name}`, () => {
    const got = parseKey(c.input);
    if (c.want === null) {
      assert.equal(got, null);
      return;
    }
    assert.ok(got);
    assert.equal(got.checksumOk, c.want.checksumOk, `checksumOk: got ${got.checksumOk}, want ${c.want.checksumOk}`);
    assert.match(got.id, /^key_[0-9A-Za-z]{16}$/);
  });
}

test('hashKey is hex SHA-256 of the whole key string', () => {
  assert.equal(hashKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(hashKey(good), createHash('sha256').update(good).digest('hex'));
});
