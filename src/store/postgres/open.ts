// Opening the PostgreSQL store: several Warden instances share one database, so keys and
// revocations made through one are seen by all (they poll the change generation).
import { Kysely, PostgresDialect } from 'kysely';
import { ErrorCode, isWardenError, WardenError } from '../../errors.ts';
import type { Database } from '../kysely-schema.ts';
import { kyselyStore } from '../kysely-store.ts';
import { checkVersion, migrate } from '../migrations.ts';
import type { Store } from '../types.ts';
import { StoreHealth } from '../health.ts';
import { guardedPool } from './guarded-pool.ts';

const POOL_SIZE = 5;
const CONNECT_TIMEOUT_MS = 3_000;
/** Ordinary queries (audit batches, key management) on a loaded machine. */
const QUERY_DEADLINE_MS = 10_000;
/** The key cache's poll of the change generation. Short, so that a poll stuck on a cut network
 *  path gives way to a fresh connection soon after the path is back: a revocation made meanwhile
 *  then reaches this instance within about a second. */
const POLL_DEADLINE_MS = 750;
/** Loading the changed keys (all of them at start-up: thousands of rows on a busy machine). */
const RELOAD_DEADLINE_MS = 5_000;

export async function openPostgresStore(url: string, opts: { readOnly: boolean }): Promise<Store> {
  const where = redactUrl(url);
  const health = new StoreHealth();
  const onOutcome = (err: unknown): void => health.report(err);
  const pool = guardedPool({ url, max: POOL_SIZE, queryDeadlineMs: QUERY_DEADLINE_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, onOutcome });
  // The key cache's poll and reload have their own small pools, so audit batches stuck on a dead
  // connection never hold up what brings revocations in.
  const poll = guardedPool({ url, max: 2, queryDeadlineMs: POLL_DEADLINE_MS, connectTimeoutMs: POLL_DEADLINE_MS, onOutcome });
  const reload = guardedPool({ url, max: 1, queryDeadlineMs: RELOAD_DEADLINE_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, onOutcome });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const pollDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: poll }) });
  const reloadDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: reload }) });
  try {
    if (opts.readOnly) await checkVersion(db, where, { requireLatest: true });
    else await migrate(db, { dialect: 'postgres', where });
  } catch (err) {
    await db.destroy();
    await pollDb.destroy();
    await reloadDb.destroy();
    if (isWardenError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new WardenError(ErrorCode.STORE_UNAVAILABLE, `store ${where} cannot be opened: ${message}`, { cause: err });
  }
  const store = kyselyStore(db, 'postgres', health);
  const polled = kyselyStore(pollDb, 'postgres', health);
  const reloaded = kyselyStore(reloadDb, 'postgres', health);
  return {
    ...store,
    keys: { ...store.keys, changesSince: reloaded.keys.changesSince },
    generation: polled.generation,
    close: async () => {
      await store.close();
      await polled.close();
      await reloaded.close();
    },
  };
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
