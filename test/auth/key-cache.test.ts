// The key cache over a real SQLite store, changed through a second connection as the CLI or
// another instance would: incremental reloads, and the edges of revocation and expiry.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyCache, type KeyCacheOptions } from '../../src/auth/key-cache.ts';
import { KeyService } from '../../src/auth/key-service.ts';
import { openStore } from '../../src/store/index.ts';
import type { KeyChanges, Store } from '../../src/store/types.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Setup {
  cache: KeyCache;
  /** a second connection: "the CLI" */
  cli: KeyService;
  cliStore: Store;
  /** what each changesSince call asked for and got */
  calls: Array<{ since: number; changes: KeyChanges }>;
  invalidated: string[][];
  changed: string[][];
  close(): Promise<void>;
}

async function setup(opts: KeyCacheOptions = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-keycache-'));
  dirs.push(dir);
  const url = 'sqlite:warden.db';
  const serverStore = await openStore({ url, dataDir: dir });
  const cliStore = await openStore({ url, dataDir: dir });
  const calls: Setup['calls'] = [];
  const spied: Store = {
    ...serverStore,
    generation: () => serverStore.generation(),
    keys: {
      ...serverStore.keys,
      changesSince: async (since) => {
        const changes = await serverStore.keys.changesSince(since);
        calls.push({ since, changes });
        return changes;
      },
    },
  };
  const invalidated: string[][] = [];
  const changed: string[][] = [];
  const cache = new KeyCache(spied, {
    pollMs: 3_600_000, // the tests refresh by hand
    onInvalidated: (ids) => invalidated.push([...ids]),
    onKeysChanged: (ids) => changed.push([...ids]),
    ...opts,
  });
  await cache.start();
  return {
    cache,
    cli: new KeyService(cliStore, () => undefined),
    cliStore,
    calls,
    invalidated,
    changed,
    async close() {
      await cache.stop();
      await serverStore.close();
      await cliStore.close();
    },
  };
}

async function until(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function ollamaPubkey(): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const type = Buffer.from('ssh-ed25519');
  const wire = Buffer.concat([Buffer.from([0, 0, 0, type.length]), type, Buffer.from([0, 0, 0, 32]), raw]);
  return `ssh-ed25519 ${wire.toString('base64')}`;
}

void test('a change reloads only the rows that changed, not the whole key table', async () => {
  const s = await setup();
  try {
    for (let i = 0; i < 50; i++) await s.cli.create({ name: `k${i}` }, 'cli');
    assert.equal(await s.cache.refresh(false), true);
    const target = await s.cli.create({ name: 'target' }, 'cli');
    const before = s.cache.currentGeneration;
    s.calls.length = 0;
    await s.cli.update(target.record.id, { rpm: 9 }, 'cli');
    assert.equal(await s.cache.refresh(false), true);
    assert.equal(s.calls.length, 1);
    assert.equal(s.calls[0]!.since, before, 'asked only for changes after the generation it held');
    assert.deepEqual(s.calls[0]!.changes.changed.map((k) => k.id), [target.record.id]);
    assert.equal(s.cache.get(target.record.id)?.record.rpm, 9);
    assert.equal(s.cache.counts().active, 51);
    // Nothing changed: one generation read, no key query at all.
    assert.equal(await s.cache.refresh(false), false);
    assert.equal(s.calls.length, 1);
  } finally {
    await s.close();
  }
});

void test('a deleted key leaves the cache and its indexes, and its streams are cut', async () => {
  const s = await setup();
  try {
    const pub = ollamaPubkey();
    const k = await s.cli.create({ name: 'doomed', ollamaPubkeys: [pub] }, 'cli');
    await s.cache.refresh(false);
    const blob = pub.split(' ')[1]!;
    assert.equal(s.cache.byOllamaPubkey(blob)?.record.id, k.record.id);
    await s.cli.delete(k.record.id, 'cli');
    await s.cache.refresh(false);
    assert.equal(s.cache.get(k.record.id), undefined);
    assert.equal(s.cache.byOllamaPubkey(blob), undefined);
    assert.ok(s.invalidated.some((ids) => ids.includes(k.record.id)));
    // The public key is free again: another key may register it, and requests map to that key.
    const other = await s.cli.create({ name: 'heir', ollamaPubkeys: [pub] }, 'cli');
    await s.cache.refresh(false);
    assert.equal(s.cache.byOllamaPubkey(blob)?.record.id, other.record.id);
  } finally {
    await s.close();
  }
});

void test('revoking an already-expired key still reports it invalidated (its streams are cut)', async () => {
  const s = await setup();
  try {
    const k = await s.cli.create({ name: 'soon', expiresAt: new Date(Date.now() + 150) }, 'cli');
    await s.cache.refresh(false);
    await until('expiry', () => Date.now() > k.record.expiresAt!.getTime() + 20);
    s.invalidated.length = 0;
    await s.cli.revoke(k.record.id, 'cli');
    await s.cache.refresh(false);
    assert.deepEqual(s.invalidated, [[k.record.id]]);
  } finally {
    await s.close();
  }
});

void test('expiry is reported at the moment of expiry, with no change in the store', async () => {
  const s = await setup();
  try {
    const expiresAt = new Date(Date.now() + 400);
    const k = await s.cli.create({ name: 'expiring', expiresAt }, 'cli');
    const other = await s.cli.create({ name: 'later', expiresAt: new Date(Date.now() + 3_600_000) }, 'cli');
    await s.cache.refresh(false);
    s.invalidated.length = 0;
    await until('the expiry report', () => s.invalidated.length > 0);
    const late = Date.now() - expiresAt.getTime();
    assert.ok(late >= 0, 'not before the expiry');
    assert.ok(late < 200, `reported ${late} ms after the expiry`);
    assert.deepEqual(s.invalidated, [[k.record.id]]);
    assert.ok(s.changed.some((ids) => ids.includes(k.record.id)));
    assert.ok(!s.invalidated.flat().includes(other.record.id));
  } finally {
    await s.close();
  }
});

void test('a moved expiry counts from the new time, not the old one', async () => {
  const s = await setup();
  try {
    const k = await s.cli.create({ name: 'moved', expiresAt: new Date(Date.now() + 200) }, 'cli');
    await s.cache.refresh(false);
    const later = new Date(Date.now() + 700);
    await s.cli.update(k.record.id, { expiresAt: later }, 'cli');
    await s.cache.refresh(false);
    s.invalidated.length = 0;
    await until('the moved expiry', () => s.invalidated.length > 0);
    assert.ok(Date.now() >= later.getTime(), 'the old expiry time was ignored');
  } finally {
    await s.close();
  }
});

void test('the end of a rotation grace is reported for session holders, without cutting streams', async () => {
  const s = await setup();
  try {
    const k = await s.cli.create({ name: 'rotating' }, 'cli');
    await s.cache.refresh(false);
    await s.cli.rotate(k.record.id, 1, 'cli');
    s.changed.length = 0;
    await s.cache.refresh(false);
    assert.deepEqual(s.changed, [[k.record.id]], 'the rotation itself is a change');
    s.changed.length = 0;
    s.invalidated.length = 0;
    const graceEnd = s.cache.get(k.record.id)!.record.previousExpiresAt!.getTime();
    await until('the end of the grace', () => s.changed.length > 0);
    assert.ok(Date.now() >= graceEnd);
    assert.deepEqual(s.invalidated, [], 'a rotation does not cut streams');
  } finally {
    await s.close();
  }
});

void test('refreshes run one at a time, so an older view never replaces a newer one', async () => {
  const s = await setup();
  try {
    const k = await s.cli.create({ name: 'racy' }, 'cli');
    await s.cache.refresh(false);
    const pending: Array<Promise<boolean>> = [];
    for (let i = 1; i <= 20; i++) {
      await s.cli.update(k.record.id, { rpm: i }, 'cli');
      pending.push(s.cache.refresh(false));
    }
    await Promise.all(pending);
    assert.equal(s.cache.get(k.record.id)?.record.rpm, 20);
    assert.equal(s.cache.currentGeneration, await s.cliStore.generation());
  } finally {
    await s.close();
  }
});

void test('lastConfirmedAt moves on every successful poll, changed or not', async () => {
  const s = await setup();
  try {
    const first = s.cache.lastConfirmedAt;
    assert.ok(Number.isFinite(first));
    await until('a clock tick', () => Date.now() > first);
    await s.cache.refresh(false);
    assert.ok(s.cache.lastConfirmedAt > first);
  } finally {
    await s.close();
  }
});

void test('a key changed over and over does not grow the pending deadlines without bound', async () => {
  const s = await setup();
  try {
    const k = await s.cli.create({ name: 'churned', expiresAt: new Date(Date.now() + 3_600_000) }, 'cli');
    await s.cache.refresh(false);
    for (let i = 0; i < 1500; i++) {
      await s.cliStore.keys.update(k.record.id, { rpm: i + 1 });
      await s.cache.refresh(false);
    }
    assert.ok(s.cache.pendingDeadlines <= 2 + 1024 + 1, `${s.cache.pendingDeadlines} pending deadlines for one key`);
    // And the expiry is still known after the compaction.
    await s.cli.update(k.record.id, { expiresAt: new Date(Date.now() + 200) }, 'cli');
    await s.cache.refresh(false);
    s.invalidated.length = 0;
    await until('the expiry after compaction', () => s.invalidated.length > 0);
  } finally {
    await s.close();
  }
});
