// The SQLite store: the shared contract, plus what only a file can go wrong with — damaged or
// foreign files, a database from a newer Warden, file modes, and other processes on the file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ErrorCode } from '../../src/errors.ts';
import { openStore } from '../../src/store/index.ts';
import { LATEST_SCHEMA_VERSION } from '../../src/store/migrations.ts';
import type { Store } from '../../src/store/types.ts';
import { storeContract } from './contract.ts';
import { auditEvent, newKey } from './contract/fixtures.ts';

const run = promisify(execFile);
const dirs: string[] = [];
const opened: Store[] = [];
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warden-store-'));
  dirs.push(d);
  return d;
}

async function open(dataDir: string, url = 'sqlite:warden.db', readOnly = false): Promise<Store> {
  const s = await openStore({ url, dataDir, readOnly });
  opened.push(s);
  return s;
}

storeContract('sqlite', async () => {
  const dir = tempDir();
  return { open: () => openStore({ url: 'sqlite:warden.db', dataDir: dir }) };
});

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A real store file with some keys and enough audit rows to span many pages. */
async function realDatabase(dir: string): Promise<string> {
  const s = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
  await s.keys.create(newKey());
  await s.audit.insert(Array.from({ length: 2000 }, () => auditEvent()));
  await s.close();
  return join(dir, 'warden.db');
}

void describe('sqlite store refuses a file it cannot trust, and leaves it untouched', () => {
  const cases: Array<[string, (file: string, dir: string) => Promise<void>, string]> = [
    ['a text file', async (file) => writeFileSync(file, 'keys: none\n'.repeat(500)), ErrorCode.STORE_CORRUPT],
    ['random bytes behind a SQLite header', async (file) => {
      writeFileSync(file, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(8192, 0xa5)]));
    }, ErrorCode.STORE_CORRUPT],
    ['a real database truncated halfway (full disk, half-finished copy)', async (file, dir) => {
      await realDatabase(dir);
      truncateSync(file, Math.floor(statSync(file).size / 2));
    }, ErrorCode.STORE_CORRUPT],
    ['a database written by a newer Warden (schema_version 999)', async (file, dir) => {
      await realDatabase(dir);
      const raw = new DatabaseSync(file);
      raw.exec("UPDATE warden_meta SET value = '999' WHERE key = 'schema_version'");
      raw.close();
    }, ErrorCode.STORE_SCHEMA_NEWER],
  ];
  for (const [label, make, code] of cases) {
    void it(`${label} → ${code}`, async () => {
      const dir = tempDir();
      const file = join(dir, 'warden.db');
      await make(file, dir);
      const before = sha256(file);
      await assert.rejects(openStore({ url: 'sqlite:warden.db', dataDir: dir }), (err: Error & { code?: string }) => {
        assert.equal(err.code, code);
        assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
        return true;
      });
      assert.equal(sha256(file), before, 'the file was not modified');
      assert.deepEqual(readdirSync(dir), ['warden.db'], 'nothing was created beside it');
      // And a second attempt says the same: nothing was "repaired" on the way.
      await assert.rejects(openStore({ url: 'sqlite:warden.db', dataDir: dir }), { code });
    });
  }
});

void describe('sqlite store schema upgrades', () => {
  void it('migrates a version-1 database (no per-key caps) up, keeping its keys, with caps null', async () => {
    const dir = tempDir();
    const file = join(dir, 'warden.db');
    const s = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
    const k = await s.keys.create(newKey({ capNumCtx: null, capNumPredict: null, capKeepAlive: null }));
    await s.close();
    // Version 1 is today's schema without migration 2's columns and migration 3's tables.
    const raw = new DatabaseSync(file);
    for (const t of ['warden_key_deletions', 'warden_ollama_pubkeys', 'warden_used_signatures']) raw.exec(`DROP TABLE ${t}`);
    raw.exec('DROP INDEX warden_keys_changed_gen_idx');
    for (const c of ['cap_num_ctx', 'cap_num_predict', 'cap_keep_alive', 'changed_gen']) raw.exec(`ALTER TABLE warden_keys DROP COLUMN ${c}`);
    raw.exec("UPDATE warden_meta SET value = '1' WHERE key = 'schema_version'");
    raw.close();
    await assert.rejects(open(dir, 'sqlite:warden.db', true), { code: ErrorCode.STORE_UNAVAILABLE }, 'read-only cannot upgrade');

    const upgraded = await open(dir);
    assert.equal(await upgraded.getMeta('schema_version'), String(LATEST_SCHEMA_VERSION));
    assert.deepEqual(await upgraded.keys.get(k.id), k);
    const capped = await upgraded.keys.update(k.id, { capNumCtx: 2048, capKeepAlive: 600 });
    assert.deepEqual([capped.capNumCtx, capped.capNumPredict, capped.capKeepAlive], [2048, null, 600]);
    // Migration 3 registered the key's ollama public key as its own: nobody else can claim it.
    await assert.rejects(upgraded.keys.create(newKey({ ollamaPubkeys: k.ollamaPubkeys })), { code: ErrorCode.CONFLICT });
  });
});

void describe('sqlite store files', () => {
  void it('creates the parent directory and keeps the database, -wal and -shm at mode 0600', { skip: process.platform === 'win32' && 'POSIX modes' }, async () => {
    const dir = tempDir();
    const s = await open(dir, 'sqlite:nested/dir/warden.db');
    await s.keys.create(newKey());
    for (const f of ['warden.db', 'warden.db-wal', 'warden.db-shm']) {
      const mode = statSync(join(dir, 'nested', 'dir', f)).mode & 0o777;
      assert.equal(mode.toString(8), '600', `${f}: got ${mode.toString(8)}, want 600`);
    }
  });

  void it('tightens an existing database left at 0644', { skip: process.platform === 'win32' && 'POSIX modes' }, async () => {
    const dir = tempDir();
    const file = await realDatabase(dir);
    chmodSync(file, 0o644);
    await open(dir);
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
  });

  void it('resolves a relative path against the data dir and accepts an absolute one', async () => {
    const dir = tempDir();
    await open(dir, 'sqlite:rel.db');
    assert.ok(existsSync(join(dir, 'rel.db')));
    const abs = join(tempDir(), 'abs.db');
    await open(dir, `sqlite:${abs}`);
    assert.ok(existsSync(abs));
  });

  void it('refuses an unknown store URL scheme as a config error', async () => {
    await assert.rejects(openStore({ url: 'mysql://x/y', dataDir: tempDir() }), { code: ErrorCode.CONFIG_INVALID });
  });

  void it('read-only: a missing database is an error and is not created', async () => {
    const dir = tempDir();
    await assert.rejects(open(dir, 'sqlite:warden.db', true), { code: ErrorCode.STORE_UNAVAILABLE });
    assert.equal(existsSync(join(dir, 'warden.db')), false);
  });

  void it('read-only: reads what a writer wrote, and cannot write', async () => {
    const dir = tempDir();
    await realDatabase(dir);
    const ro = await open(dir, 'sqlite:warden.db', true);
    assert.equal((await ro.keys.list()).length, 1);
    await assert.rejects(ro.keys.create(newKey()));
  });
});

void describe('sqlite store with other processes on the same file', () => {
  const child = (...args: string[]) =>
    run(process.execPath, [join(import.meta.dirname, 'sqlite-child.ts'), ...args], { timeout: 60_000 });

  void it('sees a key created by another process through generation()', async () => {
    const dir = tempDir();
    const s = await open(dir);
    const before = await s.generation();
    await child('create-key', join(dir, 'warden.db'), 'fromchild');
    assert.ok((await s.generation()) > before, 'generation moved');
    assert.equal((await s.keys.get('key_fromchild'))?.name, 'fromchild');
  });

  void it('processes writing at the same time all succeed (no SQLITE_BUSY from a stale read snapshot)', async () => {
    const dir = tempDir();
    const s = await open(dir);
    const file = join(dir, 'warden.db');
    const before = await s.generation();
    await Promise.all([child('create-keys', file, 'a', '40'), child('create-keys', file, 'b', '40'), child('create-keys', file, 'c', '40')]);
    assert.equal((await s.keys.list()).length, 120);
    assert.equal(await s.generation(), before + 120, 'every create bumped the generation exactly once');
  });

  void it('a writer killed mid-transaction leaves the old state intact', async () => {
    const dir = tempDir();
    const s = await open(dir);
    const k = await s.keys.create(newKey());
    const gen = await s.generation();
    await assert.rejects(child('crash-mid-write', join(dir, 'warden.db')), (err: { signal?: string; stdout?: string }) => {
      assert.equal(err.signal, 'SIGKILL');
      assert.equal(err.stdout, 'written\n', 'the child got as far as writing');
      return true;
    });
    assert.deepEqual(await s.keys.get(k.id), k);
    assert.equal(await s.generation(), gen);
    assert.deepEqual(await s.audit.query({}), []);
    // A new process opening the file after the crash finds it intact (quick_check passes).
    const again = await open(dir);
    assert.deepEqual(await again.keys.list(), [k]);
    await again.keys.update(k.id, { rpm: 1 }); // and the write lock was released by the crash
  });
});
