// Kysely's SqliteDialect was written for better-sqlite3. Warden cannot ship a native add-on (it
// would be compiled against the wrong Node headers, and Windows/macOS users would need a
// compiler), so this file makes Node's built-in `node:sqlite` look like the small part of
// better-sqlite3 that Kysely calls: `prepare()` returning a statement with `reader`, `all`,
// `run` and `iterate`, and `close()`.
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { isDiskFull } from '../db-errors.ts';
import { diskFullError } from '../disk-reserve.ts';

/** Kysely's driver opens every transaction with a bare `begin`. A deferred transaction that
 *  reads first and writes later fails at once with SQLITE_BUSY (busy_timeout does not help)
 *  when another process wrote in between, so every transaction takes the write lock up front. */
const BEGIN = /^\s*begin\s*;?\s*$/i;

/** Prepared statements kept per SQL text: the same few queries (generation poll, audit insert,
 *  key list) run again and again, and preparing is most of their cost. */
const STATEMENT_CACHE = 64;

export function adaptNodeSqlite(db: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      if (db.isOpen) db.close();
    },
    prepare: (sql: string) => {
      let stmt = cache.get(sql);
      if (stmt) return stmt;
      stmt = adaptStatement(db.prepare(BEGIN.test(sql) ? 'BEGIN IMMEDIATE' : sql), sql);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

/**
 * Node.js 22.13–22.15 have node:sqlite without StatementSync.columns() (added in 22.16); there
 * the SQL text tells a reader (the statements Kysely compiles start with one of these words or
 * end in RETURNING).
 */
const READER_SQL = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;

const ROLLBACK = /^\s*rollback\s*;?\s*$/i;

function adaptStatement(stmt: StatementSync, sql: string): SqliteStatement {
  const rollback = ROLLBACK.test(sql);
  return {
    // A statement that yields columns (SELECT, RETURNING, most PRAGMAs) is a reader.
    reader: typeof stmt.columns === 'function' ? stmt.columns().length > 0 : READER_SQL.test(sql),
    all: (params) => guard(() => stmt.all(...toInputs(params))),
    run: (params) => {
      try {
        return guard(() => stmt.run(...toInputs(params)));
      } catch (err) {
        // SQLite rolls a transaction back by itself after some errors (SQLITE_FULL, IOERR);
        // Kysely's ROLLBACK then fails with "no transaction is active" and that message would
        // replace the real cause ("cannot rollback" on a full disk).
        if (rollback && /no transaction is active/i.test(String(err))) return { changes: 0, lastInsertRowid: 0 };
        throw err;
      }
    },
    iterate: (params) => stmt.iterate(...toInputs(params)),
  };
}

/** A full disk is an error the operator can act on, named as such wherever it happens. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isDiskFull(err)) throw diskFullError(err);
    throw err;
  }
}

/** node:sqlite binds only null, numbers, bigints, strings and bytes. */
function toInputs(params: ReadonlyArray<unknown>): SQLInputValue[] {
  return params.map((p): SQLInputValue => {
    if (p === undefined || p === null) return null;
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p instanceof Date) return p.getTime();
    if (typeof p === 'number' || typeof p === 'bigint' || typeof p === 'string' || ArrayBuffer.isView(p)) {
      return p as SQLInputValue;
    }
    throw new TypeError(`cannot bind a ${typeof p} to a SQLite parameter`);
  });
}
