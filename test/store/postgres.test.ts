// The PostgreSQL store against a real, throwaway server: the shared contract, plus what only a
// shared server can go wrong with — instances migrating at once, a newer schema, the server
// being down. Without PostgreSQL installed the suite is skipped locally and FAILS under CI.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ErrorCode } from '../../src/errors.ts';
import { openStore } from '../../src/store/index.ts';
import { LATEST_SCHEMA_VERSION } from '../../src/store/migrations.ts';
import { findPostgresBin, freePort, startPostgres, type RunningPostgres } from '../helpers/postgres.ts';
import { storeContract } from './contract.ts';
import { newKey } from './contract/fixtures.ts';

const missing = findPostgresBin() === null;
const skip = missing && !process.env.CI ? 'PostgreSQL server binaries not installed (apt-get install postgresql); under CI this fails instead' : false;

void describe('postgres', { skip }, () => {
  let server: RunningPostgres | undefined;
  let admin: pg.Client | undefined;
  let n = 0;
  before(async () => {
    server = await startPostgres();
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await server?.stop();
  });

  /** A new empty database on the test server; its URL. */
  async function freshDatabase(): Promise<string> {
    if (!server || !admin) throw new Error('PostgreSQL did not start');
    const name = `warden_t${++n}`;
    await admin.query(`CREATE DATABASE ${name}`);
    return server.url.replace(/\/postgres$/, `/${name}`);
  }

  storeContract('postgres', async () => {
    const url = await freshDatabase();
    return { open: () => openStore({ url, dataDir: '/nonexistent' }) };
  });

  void describe('postgres store specifics', () => {
    void it('several instances starting at once all migrate the same empty database', async () => {
      const url = await freshDatabase();
      const stores = await Promise.all([1, 2, 3].map(() => openStore({ url, dataDir: '/nonexistent' })));
      try {
        const k = await stores[0]!.keys.create(newKey());
        assert.deepEqual(await stores[2]!.keys.get(k.id), k);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    void it('refuses a database written by a newer Warden and leaves it unchanged', async () => {
      const url = await freshDatabase();
      const s = await openStore({ url, dataDir: '/nonexistent' });
      const k = await s.keys.create(newKey());
      await s.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query("UPDATE warden_meta SET value = '999' WHERE key = 'schema_version'");
        await assert.rejects(openStore({ url, dataDir: '/nonexistent' }), (err: Error & { code?: string }) => {
          assert.equal(err.code, ErrorCode.STORE_SCHEMA_NEWER);
          assert.match(err.message, /schema version 999/);
          assert.ok(err.message.includes(new URL(url).pathname), `message names the database: ${err.message}`);
          return true;
        });
        const meta = await c.query("SELECT value FROM warden_meta WHERE key = 'schema_version'");
        assert.equal(meta.rows[0]?.value, '999');
        const keys = await c.query('SELECT id FROM warden_keys');
        assert.deepEqual(keys.rows, [{ id: k.id }]);
      } finally {
        await c.end();
      }
    });

    void it('migrates a version-1 database (no per-key caps) up, keeping its keys, with caps null', async () => {
      const url = await freshDatabase();
      const s = await openStore({ url, dataDir: '/nonexistent' });
      const k = await s.keys.create(newKey({ capNumCtx: null, capNumPredict: null, capKeepAlive: null }));
      await s.close();
      // Version 1 is today's schema without migration 2's columns and migration 3's tables.
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query('DROP TABLE warden_key_deletions, warden_ollama_pubkeys, warden_used_signatures');
        await c.query('ALTER TABLE warden_keys DROP COLUMN cap_num_ctx, DROP COLUMN cap_num_predict, DROP COLUMN cap_keep_alive, DROP COLUMN changed_gen');
        await c.query("UPDATE warden_meta SET value = '1' WHERE key = 'schema_version'");
      } finally {
        await c.end();
      }
      const upgraded = await openStore({ url, dataDir: '/nonexistent' });
      try {
        assert.equal(await upgraded.getMeta('schema_version'), String(LATEST_SCHEMA_VERSION));
        assert.deepEqual(await upgraded.keys.get(k.id), k);
        const capped = await upgraded.keys.update(k.id, { capNumCtx: 2048, capKeepAlive: 600 });
        assert.deepEqual([capped.capNumCtx, capped.capNumPredict, capped.capKeepAlive], [2048, null, 600]);
        // Migration 3 registered the key's ollama public key as its own: nobody else can claim it.
        await assert.rejects(upgraded.keys.create(newKey({ ollamaPubkeys: k.ollamaPubkeys })), { code: ErrorCode.CONFLICT });
      } finally {
        await upgraded.close();
      }
    });

    void it('a server that is down is STORE_UNAVAILABLE, and the message never shows the password', async () => {
      const port = await freePort(); // closed: nothing listens on it
      const url = `postgres://warden:s3cret-pw@127.0.0.1:${port}/warden`;
      await assert.rejects(openStore({ url, dataDir: '/nonexistent' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, ErrorCode.STORE_UNAVAILABLE);
        assert.ok(!err.message.includes('s3cret-pw'), `password leaked: ${err.message}`);
        assert.ok(err.message.includes(`127.0.0.1:${port}`), `message names the server: ${err.message}`);
        return true;
      });
    });
  });
});
