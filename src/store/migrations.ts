// Versioned schema migrations, written once with Kysely's schema builder so the same code runs
// on SQLite and PostgreSQL. The applied version lives in warden_meta under `schema_version`.
// All pending migrations run in one transaction: a crash half-way leaves the old schema intact.
// A database from a newer Warden is refused, never "repaired": downgrading must not eat data.
import { sql, type Kysely, type Transaction } from 'kysely';
import { ErrorCode, WardenError } from '../errors.ts';
import type { Database } from './kysely-schema.ts';

export const SCHEMA_VERSION_KEY = 'schema_version';

interface Migration {
  version: number;
  // Migrations must not depend on today's table typings (they describe yesterday's schema),
  // which is why Kysely's own docs type them with `any`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void>;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    async up(db) {
      await db.schema
        .createTable('warden_generation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into warden_generation (id, value) values (1, 0)`.execute(db);

      await db.schema
        .createTable('warden_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('models', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('previous_secret_hash', 'text')
        .addColumn('previous_expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('rpm', 'integer')
        .addColumn('tpm', 'integer')
        .addColumn('concurrency', 'integer')
        .addColumn('cert_fingerprint', 'text')
        .addColumn('ollama_pubkeys', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('warden_client_certs')
        .addColumn('serial', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('not_before', 'bigint', (c) => c.notNull())
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('revocation_reason', 'text')
        .execute();
      await db.schema.createIndex('warden_client_certs_name_idx').on('warden_client_certs').column('name').execute();

      await db.schema
        .createTable('warden_audit')
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('key_name', 'text')
        .addColumn('auth_method', 'text')
        .addColumn('client_address', 'text')
        .addColumn('tls_version', 'text')
        .addColumn('client_cert_subject', 'text')
        .addColumn('method', 'text')
        .addColumn('path', 'text')
        .addColumn('model', 'text')
        .addColumn('status', 'integer')
        .addColumn('duration_ms', 'double precision')
        .addColumn('bytes_in', 'bigint')
        .addColumn('bytes_out', 'bigint')
        .addColumn('prompt_tokens', 'integer')
        .addColumn('eval_tokens', 'integer')
        .addColumn('reason', 'text')
        .addColumn('actor', 'text')
        .execute();
      // The UI and `warden audit` read newest first, overall or for one key.
      await db.schema.createIndex('warden_audit_time_idx').on('warden_audit').column('time').execute();
      await db.schema.createIndex('warden_audit_key_time_idx').on('warden_audit').columns(['key_id', 'time']).execute();
    },
  },
  {
    version: 2,
    // Per-key caps on expensive requests (num_ctx, num_predict, keep_alive in seconds); null = no
    // cap from the key. One column per statement: SQLite's ALTER TABLE adds only one at a time.
    async up(db) {
      for (const column of ['cap_num_ctx', 'cap_num_predict', 'cap_keep_alive']) {
        await db.schema.alterTable('warden_keys').addColumn(column, 'integer').execute();
      }
    },
  },
  {
    version: 3,
    // Incremental key-cache reloads, one owner per ollama public key, and used CLI signatures.
    async up(db) {
      // The generation that last changed a key row, and one tombstone per deleted key: a cache at
      // generation G reloads only the rows changed after G. Existing rows are 0:
      // a cache always starts with a full load.
      await db.schema.alterTable('warden_keys').addColumn('changed_gen', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('warden_keys_changed_gen_idx').on('warden_keys').column('changed_gen').execute();
      await db.schema
        .createTable('warden_key_deletions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('gen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('warden_key_deletions_gen_idx').on('warden_key_deletions').column('gen').execute();

      // An ollama CLI public key identifies its caller: it may belong to one Warden key only.
      // The primary key is the final word when two instances race.
      await db.schema
        .createTable('warden_ollama_pubkeys')
        .addColumn('blob', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('warden_ollama_pubkeys_key_idx').on('warden_ollama_pubkeys').column('key_id').execute();
      // Existing registrations: the oldest key keeps a public key registered on several; the
      // others lose it (a request signed with it could be attributed to either, so none may keep
      // an ambiguous claim).
      const rows = (await db.selectFrom('warden_keys').select(['id', 'ollama_pubkeys']).orderBy('created_at').orderBy('id').execute()) as Array<{ id: string; ollama_pubkeys: string }>;
      const owner = new Map<string, string>();
      for (const r of rows) {
        let list: unknown;
        try {
          list = JSON.parse(r.ollama_pubkeys);
        } catch {
          continue; // a corrupt row is reported by the normal read path, not here
        }
        if (!Array.isArray(list)) continue;
        const kept: string[] = [];
        for (const text of list) {
          const blob = typeof text === 'string' ? (text.trim().split(/\s+/)[1] ?? '') : '';
          if (blob === '' || owner.has(blob)) continue;
          owner.set(blob, r.id);
          kept.push(text as string);
        }
        if (kept.length !== list.length) {
          await db.updateTable('warden_keys').set({ ollama_pubkeys: JSON.stringify(kept) }).where('id', '=', r.id).execute();
        }
      }
      for (const [blob, keyId] of owner) await db.insertInto('warden_ollama_pubkeys').values({ blob, key_id: keyId }).execute();

      // CLI signatures already accepted, until their timestamp leaves the skew window: replay
      // protection shared by every instance on the store and kept across restarts.
      await db.schema
        .createTable('warden_used_signatures')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('warden_used_signatures_expires_idx').on('warden_used_signatures').column('expires_at').execute();
    },
  },
  {
    version: 4,
    // Audit events are inserted idempotently by event id: a retried batch must not
    // add an event twice. Duplicates left by earlier versions' retries are removed first.
    async up(db, dialect) {
      if (dialect === 'postgres') {
        await sql`DELETE FROM warden_audit a USING warden_audit b WHERE a.id = b.id AND a.ctid > b.ctid`.execute(db);
      } else {
        await sql`DELETE FROM warden_audit WHERE rowid NOT IN (SELECT min(rowid) FROM warden_audit GROUP BY id)`.execute(db);
      }
      await db.schema.createIndex('warden_audit_id_idx').ifNotExists().unique().on('warden_audit').column('id').execute();
    },
  },
];

/** The schema version this build writes and understands. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** Arbitrary constant: the PostgreSQL advisory lock that serialises migrations of instances starting together. */
const PG_MIGRATION_LOCK = 0x77617264; // "ward"

export interface MigrateOptions {
  dialect: 'sqlite' | 'postgres';
  /** The file or (password-free) URL, for error messages. */
  where: string;
}

/** Bring the schema up to LATEST_SCHEMA_VERSION, or refuse a database from a newer Warden. */
export async function migrate(db: Kysely<Database>, opts: MigrateOptions): Promise<number> {
  return db.transaction().execute(async (trx) => {
    if (opts.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`.execute(trx);
    await trx.schema
      .createTable('warden_meta')
      .ifNotExists()
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    const current = await readVersion(trx, opts.where);
    assertNotNewer(current, opts.where);
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await m.up(trx, opts.dialect);
      await trx
        .insertInto('warden_meta')
        .values({ key: SCHEMA_VERSION_KEY, value: String(m.version) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(m.version) }))
        .execute();
    }
    return LATEST_SCHEMA_VERSION;
  });
}

/** Check the version without writing anything: refuse a newer schema and, when the caller cannot
 *  migrate (read-only open), an older one. Returns the version found (0 = empty database). */
export async function checkVersion(db: Kysely<Database>, where: string, opts: { requireLatest: boolean }): Promise<number> {
  const tables = await db.introspection.getTables();
  const version = tables.some((t) => t.name === 'warden_meta') ? await readVersion(db, where) : 0;
  assertNotNewer(version, where);
  if (opts.requireLatest && version < LATEST_SCHEMA_VERSION) {
    throw new WardenError(
      ErrorCode.STORE_UNAVAILABLE,
      `store ${where} has schema version ${version}, this Warden needs ${LATEST_SCHEMA_VERSION}; ` +
        'it cannot be upgraded when opened read-only (run `warden serve` or `warden init` once)',
    );
  }
  return version;
}

async function readVersion(db: Kysely<Database> | Transaction<Database>, where: string): Promise<number> {
  const row = await db
    .selectFrom('warden_meta')
    .select('value')
    .where('key', '=', SCHEMA_VERSION_KEY)
    .executeTakeFirst();
  if (!row) return 0;
  const n = Number(row.value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WardenError(ErrorCode.STORE_CORRUPT, `store ${where}: schema_version ${JSON.stringify(row.value)} is not a version number`);
  }
  return n;
}

function assertNotNewer(version: number, where: string): void {
  if (version > LATEST_SCHEMA_VERSION) {
    throw new WardenError(
      ErrorCode.STORE_SCHEMA_NEWER,
      `store ${where} has schema version ${version}, newer than the ${LATEST_SCHEMA_VERSION} this Warden knows; ` +
        'it was written by a newer Warden. Upgrade Warden; the database was left unchanged',
    );
  }
}
