// Replay protection for CLI signatures: accepted once while the timestamp is inside the skew
// window, remembered in the store (shared and durable) with a local cache in front.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReplayCache } from '../../src/auth/replay-cache.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store, UsedSignatureRepo } from '../../src/store/types.ts';

const sig = (n: number): Buffer => Buffer.alloc(64, n);
const dirs: string[] = [];
const stores: Store[] = [];
after(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two connections to one SQLite file: "two instances" (or one before and after a restart). */
async function twoStores(): Promise<[Store, Store]> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-replay-'));
  dirs.push(dir);
  const a = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
  const b = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
  stores.push(a, b);
  return [a, b];
}

/** Counts the store's claims, to show which answers came from the local cache. */
function counting(repo: UsedSignatureRepo): UsedSignatureRepo & { claims: number } {
  const c = { claims: 0, claim: (...a: Parameters<UsedSignatureRepo['claim']>) => (c.claims++, repo.claim(...a)), prune: (now: number) => repo.prune(now) };
  return c;
}

void test('the first use of a signature is not a replay; the second is', async () => {
  const c = createReplayCache();
  assert.equal(await c.claim('AAAAkey', sig(1), 1000, 1000), false);
  assert.equal(await c.claim('AAAAkey', sig(1), 1000, 1001), true);
});

void test('the same signature bytes under another public key are a different entry', async () => {
  const c = createReplayCache();
  assert.equal(await c.claim('AAAAone', sig(1), 1000, 1000), false);
  assert.equal(await c.claim('AAAAtwo', sig(1), 1000, 1000), false);
});

void test('a signature stays refused for as long as its timestamp passes the clock check: to ts + 300, whenever it was first used', async () => {
  // First used when its timestamp was 300 s in the future (a client clock ahead): the old
  // "first use + 600 s" rule forgot it exactly when the clock check still accepted it.
  for (const firstUse of [700, 1000, 1300]) {
    const c = createReplayCache({ skewSeconds: 300 });
    assert.equal(await c.claim('AAAAkey', sig(1), 1000, firstUse), false);
    for (const now of [firstUse + 1, 1299, 1300].filter((n) => n <= 1300)) assert.equal(await c.claim('AAAAkey', sig(1), 1000, now), true, `first use ${firstUse}, replay at ${now}`);
  }
  const c = createReplayCache({ skewSeconds: 300 });
  await c.claim('AAAAkey', sig(1), 1000, 1000);
  await c.claim('AAAAkey', sig(2), 1301, 1301); // sweeps what expired
  assert.equal(c.size, 1, 'forgotten once the timestamp is outside the window');
});

void test('another instance on the same store, or this one after a restart, refuses a signature used once', async () => {
  const [a, b] = await twoStores();
  const one = createReplayCache({ store: a.usedSignatures });
  const two = createReplayCache({ store: b.usedSignatures });
  assert.equal(await one.claim('AAAAkey', sig(1), 1000, 1000), false);
  assert.equal(await two.claim('AAAAkey', sig(1), 1000, 1001), true, 'the other instance');
  const restarted = createReplayCache({ store: a.usedSignatures });
  assert.equal(await restarted.claim('AAAAkey', sig(1), 1000, 1250), true, 'after a restart');
});

void test('a replay seen before costs no store query; a first use costs one', async () => {
  const [a] = await twoStores();
  const repo = counting(a.usedSignatures);
  const c = createReplayCache({ store: repo });
  assert.equal(await c.claim('AAAAkey', sig(1), 1000, 1000), false);
  assert.equal(repo.claims, 1);
  for (let i = 0; i < 10; i++) assert.equal(await c.claim('AAAAkey', sig(1), 1000, 1001), true);
  assert.equal(repo.claims, 1);
});

void test('memory is bounded, and an entry dropped from memory is still refused by the store', async () => {
  const [a] = await twoStores();
  const c = createReplayCache({ store: a.usedSignatures, maxEntries: 100 });
  for (let i = 0; i < 300; i++) await c.claim('AAAAkey', Buffer.from(String(i).padStart(64, '0')), 1000, 1000);
  assert.equal(c.size, 100);
  assert.equal(await c.claim('AAAAkey', Buffer.from('0'.padStart(64, '0')), 1000, 1001), true, 'the oldest, dropped locally');
});

void test('the store forgets signatures once their timestamp left the window (pruned)', async () => {
  const [a] = await twoStores();
  const c = createReplayCache({ store: a.usedSignatures, pruneEverySeconds: 1 });
  await c.claim('AAAAkey', sig(1), 1000, 1000);
  assert.equal(await a.usedSignatures.prune(1300), 0, 'still inside the window at ts + 300');
  assert.equal(await a.usedSignatures.prune(1301), 1);
});

void test('a store that cannot answer makes the claim reject (the gateway fails closed)', async () => {
  const broken: UsedSignatureRepo = { claim: () => Promise.reject(new Error('down')), prune: () => Promise.resolve(0) };
  await assert.rejects(createReplayCache({ store: broken }).claim('AAAAkey', sig(1), 1000, 1000), /down/);
});

void test('bad options are refused when the cache is made, not on first use', () => {
  assert.throws(() => createReplayCache({ maxEntries: 0 }), TypeError);
  assert.throws(() => createReplayCache({ skewSeconds: 0 }), TypeError);
});
