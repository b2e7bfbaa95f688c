// The node:sqlite adapter under Kysely, at the boundary that matters: another process writing
// to the same file while one of our transactions is open.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Kysely, SqliteDialect } from 'kysely';
import { openStore } from '../../src/store/index.ts';
import type { Database } from '../../src/store/kysely-schema.ts';
import { adaptNodeSqlite } from '../../src/store/sqlite/node-sqlite-adapter.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'warden-adapter-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void describe('node:sqlite adapter', () => {
  void it('a transaction that reads, waits, then writes survives another process committing meanwhile', async () => {
    const file = join(dir, 'warden.db');
    await (await openStore({ url: 'sqlite:warden.db', dataDir: dir })).close();
    const raw = new DatabaseSync(file);
    raw.exec('PRAGMA busy_timeout = 5000');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: adaptNodeSqlite(raw) }) });
    let other: Promise<unknown> | undefined;
    try {
      await db.transaction().execute(async (trx) => {
        await trx.selectFrom('warden_keys').select('id').execute();
        // A deferred `begin` would let the other process commit here, and our write below would
        // then fail at once with SQLITE_BUSY (stale snapshot). BEGIN IMMEDIATE makes it wait.
        let settled = false;
        other = run(process.execPath, [join(import.meta.dirname, 'sqlite-child.ts'), 'create-key', file, 'other'], { timeout: 60_000 })
          .finally(() => (settled = true));
        // Give the other process time to finish if it can (it cannot while we hold the write
        // lock); 2 s stays well inside its 5 s busy_timeout.
        for (let waited = 0; waited < 2000 && !settled; waited += 100) await sleep(100);
        assert.equal(settled, false, 'the other process had to wait for our transaction');
        await trx.updateTable('warden_generation').set({ value: 41 }).where('id', '=', 1).execute();
      });
      await other;
      const rows = await db.selectFrom('warden_keys').select('id').execute();
      assert.deepEqual(rows.map((r) => r.id), ['key_other'], 'the other process wrote after our commit');
      const gen = await db.selectFrom('warden_generation').select('value').executeTakeFirstOrThrow();
      assert.equal(gen.value, 42, 'our write landed first, then the other process bumped it');
    } finally {
      await other?.catch(() => {});
      await db.destroy();
    }
  });

  void it('tells readers from writers and binds booleans, null and undefined', async () => {
    const raw = new DatabaseSync(':memory:');
    const a = adaptNodeSqlite(raw);
    const create = a.prepare('CREATE TABLE t (x, y, z)');
    assert.equal(create.reader, false);
    create.run([]);
    const ins = a.prepare('INSERT INTO t VALUES (?, ?, ?)');
    assert.equal(ins.run([true, null, undefined]).changes, 1);
    const sel = a.prepare('SELECT x, y, z FROM t');
    assert.equal(sel.reader, true);
    assert.deepEqual(sel.all([]).map((r) => ({ ...(r as object) })), [{ x: 1, y: null, z: null }]);
    assert.equal(a.prepare('INSERT INTO t VALUES (1, 2, 3) RETURNING x').reader, true, 'RETURNING makes a reader');
    a.close();
    a.close(); // closing twice is harmless
  });
});
