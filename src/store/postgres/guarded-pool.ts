// The PostgreSQL connection pool as Kysely sees it, made safe against a store that goes away.
// pg emits 'error' on a client whose connection dies; a client checked out of pg.Pool has no
// listener then, and an unhandled 'error' event ends the process (a connection reset
// under traffic crashed Warden). Here every client gets a listener the moment it is created, a
// query that gets no answer within its deadline (a cut network path answers nothing, not even
// a reset) destroys its connection instead of holding a pool slot for minutes, and a client that
// failed is never handed out again. pg.Pool opens a fresh connection for the next query, so the
// pool reconnects by itself once the server is back.
import pg from 'pg';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { ErrorCode, WardenError } from '../../errors.ts';

export interface GuardedPoolOptions {
  url: string;
  max: number;
  /** A query (and the connect before it) gets no longer than this. */
  queryDeadlineMs: number;
  connectTimeoutMs: number;
  /** Every outcome, so the caller can track reachability (one log line per change). */
  onOutcome: (err: unknown | null) => void;
}

/** A connection-level failure (the server is unreachable or went away), as opposed to an error
 *  the server answered with (a constraint, a syntax error), which proves it is reachable. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
  if (sqlstate !== null) return sqlstate.startsWith('08') || sqlstate === '57P01' || sqlstate === '57P02' || sqlstate === '57P03';
  return true;
}

function destroyClient(client: pg.PoolClient): void {
  // Not client.end(): on a cut path the goodbye message is never answered either.
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

export function guardedPool(o: GuardedPoolOptions): PostgresPool & { readonly pg: pg.Pool } {
  const pool = new pg.Pool({ connectionString: o.url, max: o.max, connectionTimeoutMillis: o.connectTimeoutMs });
  // An idle client whose server went away: the pool drops it and reports it here.
  pool.on('error', (err) => o.onOutcome(err));
  pool.on('connect', (client) => {
    // A checked-out client's connection died: the query in flight is rejected on its own
    // (that is where the failure is reported); this listener only keeps the process alive.
    client.on('error', () => {});
  });

  async function connect(): Promise<PostgresPoolClient> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      o.onOutcome(err);
      throw unavailable(err);
    }
    let broken = false;
    const lease = {
      query<R>(sql: string, params: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
        if (broken) return Promise.reject(unavailable(new Error('connection lost')));
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            broken = true;
            destroyClient(client);
            const err = new Error(`no answer within ${o.queryDeadlineMs} ms`);
            o.onOutcome(err);
            reject(unavailable(err));
          }, o.queryDeadlineMs);
          client.query(sql, params as unknown[]).then(
            (res) => {
              clearTimeout(timer);
              o.onOutcome(null);
              resolve(res as unknown as PostgresQueryResult<R>);
            },
            (err: unknown) => {
              clearTimeout(timer);
              if (isConnectionError(err)) {
                broken = true;
                o.onOutcome(err);
                reject(unavailable(err));
              } else {
                o.onOutcome(null);
                reject(err as Error);
              }
            },
          );
        });
      },
      release(destroy?: boolean): void {
        client.release(broken || destroy === true ? new Error('connection discarded') : undefined);
      },
    };
    return lease as unknown as PostgresPoolClient;
  }

  return {
    pg: pool,
    connect,
    end: () => pool.end(),
  };
}

function unavailable(err: unknown): WardenError {
  if (err instanceof WardenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WardenError(ErrorCode.STORE_UNAVAILABLE, `store unreachable: ${message}`, { cause: err });
}
