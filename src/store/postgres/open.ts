// Opening the PostgreSQL store: several Warden instances share one database, so keys and
// revocations made through one are seen by all (they poll the change generation).
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { ErrorCode, isWardenError, WardenError } from '../../errors.ts';
import type { Database } from '../kysely-schema.ts';
import { kyselyStore } from '../kysely-store.ts';
import { checkVersion, migrate } from '../migrations.ts';
import type { Store } from '../types.ts';

const POOL_SIZE = 5;
const CONNECT_TIMEOUT_MS = 10_000;

export async function openPostgresStore(url: string, opts: { readOnly: boolean }): Promise<Store> {
  const where = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle client whose server went away emits 'error' on the pool; without a listener that
  // would crash the process. The pool drops the client and the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (opts.readOnly) await checkVersion(db, where, { requireLatest: true });
    else await migrate(db, { dialect: 'postgres', where });
  } catch (err) {
    await db.destroy();
    if (isWardenError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new WardenError(ErrorCode.STORE_UNAVAILABLE, `store ${where} cannot be opened: ${message}`, { cause: err });
  }
  return kyselyStore(db, 'postgres');
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
