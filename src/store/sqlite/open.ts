// Opening the SQLite store: check the file is an intact SQLite database before anything writes
// to it, then set the connection up and migrate. A damaged or foreign file is refused with its
// path in the message and left exactly as it was: resetting it would silently delete every
// key, and the operator may still be able to recover it.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import { ErrorCode, isWardenError, WardenError } from '../../errors.ts';
import { isSqliteCorruption } from '../db-errors.ts';
import type { Database } from '../kysely-schema.ts';
import { kyselyStore } from '../kysely-store.ts';
import { checkVersion, migrate } from '../migrations.ts';
import type { Store } from '../types.ts';
import { adaptNodeSqlite } from './node-sqlite-adapter.ts';
import { diskReserve } from '../disk-reserve.ts';

// https://sqlite.org/fileformat.html#the_database_header
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const BUSY_TIMEOUT_MS = 5000;

export async function openSqliteStore(file: string, opts: { readOnly: boolean }): Promise<Store> {
  prepareFile(file, opts.readOnly);
  let raw: DatabaseSync;
  try {
    raw = new DatabaseSync(file, { readOnly: opts.readOnly, enableForeignKeyConstraints: true });
  } catch (cause) {
    throw translate(cause, file);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: adaptNodeSqlite(raw) }) });
  try {
    // Another process (the server, the CLI) may hold the write lock for a moment.
    raw.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    assertIntact(raw, file);
    await checkVersion(db, file, { requireLatest: opts.readOnly });
    raw.exec('PRAGMA foreign_keys = ON');
    if (!opts.readOnly) {
      // WAL: the server's readers never block on the CLI's writes and vice versa; NORMAL is
      // durable across application crashes, and only loses the last commits on power loss.
      raw.exec('PRAGMA journal_mode = WAL');
      raw.exec('PRAGMA synchronous = NORMAL');
      await migrate(db, { dialect: 'sqlite', where: file });
      restrictSidecars(file);
    }
  } catch (err) {
    await db.destroy();
    // Kysely only closes a database it has used; a failed integrity check never got that far.
    if (raw.isOpen) raw.close();
    throw translate(err, file);
  }
  return { ...kyselyStore(db, 'sqlite'), diskReserve: diskReserve(`${file}.reserve`) };
}

/** Create the file 0600 before SQLite does (SQLite would use 0644), or check a present one's header. */
function prepareFile(file: string, readOnly: boolean): void {
  if (!existsSync(file)) {
    if (readOnly) throw new WardenError(ErrorCode.STORE_UNAVAILABLE, `store ${file} does not exist (run \`warden init\` first)`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(file, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw translate(err, file);
    }
    return;
  }
  if (statSync(file).size > 0) {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    const fd = openSync(file, 'r');
    let n: number;
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    if (n < head.length || !head.equals(SQLITE_MAGIC)) {
      throw new WardenError(
        ErrorCode.STORE_CORRUPT,
        `store ${file} is not a SQLite database (its header is wrong). Warden left it unchanged; ` +
          'restore it from a backup, or move it aside to start with an empty store',
      );
    }
  }
  if (!readOnly) restrict(file);
}

function assertIntact(raw: DatabaseSync, file: string): void {
  // quick_check reads every page (O(n)) but skips index-content checks; it is what catches a
  // file truncated by a full disk or a half-finished copy.
  const rows = raw.prepare('PRAGMA quick_check').all() as Array<Record<string, unknown>>;
  const problems = rows.map((r) => String(Object.values(r)[0])).filter((m) => m !== 'ok');
  if (problems.length > 0) {
    throw new WardenError(
      ErrorCode.STORE_CORRUPT,
      `store ${file} is damaged (${problems.slice(0, 3).join('; ')}). Warden left it unchanged; ` +
        'restore it from a backup, or move it aside to start with an empty store',
    );
  }
}

/** SQLite gives -wal and -shm the main file's mode; make sure anyway (keys' hashes live there). */
function restrictSidecars(file: string): void {
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) restrict(file + suffix);
  }
}

function restrict(path: string): void {
  if (process.platform === 'win32') return; // ACLs of the per-user data dir apply instead
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    // Not ours to change (another user's file): opening goes on, `warden doctor` reports modes.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

function translate(err: unknown, file: string): WardenError {
  if (isWardenError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isSqliteCorruption(err)) {
    return new WardenError(
      ErrorCode.STORE_CORRUPT,
      `store ${file} is not a SQLite database or is damaged (${message}). Warden left it unchanged; ` +
        'restore it from a backup, or move it aside to start with an empty store',
      { cause: err },
    );
  }
  return new WardenError(ErrorCode.STORE_UNAVAILABLE, `store ${file} cannot be opened: ${message}`, { cause: err });
}
