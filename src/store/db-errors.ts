// Recognising driver errors the store turns into WardenErrors. The two drivers report the same
// conditions differently: node:sqlite with an extended result code, pg with a SQLSTATE.

interface DriverError {
  code?: unknown;
  errcode?: unknown;
  message?: unknown;
}

// https://sqlite.org/rescode.html — SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
const SQLITE_UNIQUE = new Set([2067, 1555]);
// https://sqlite.org/rescode.html — SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), with extended codes
const SQLITE_CORRUPT_PRIMARY = new Set([11, 26]);

export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as DriverError;
  if (e.code === '23505') return true; // PostgreSQL unique_violation
  return typeof e.errcode === 'number' && SQLITE_UNIQUE.has(e.errcode);
}

// SQLITE_FULL (13), PostgreSQL disk_full (53100), the OS's ENOSPC / EDQUOT.
export function isDiskFull(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as DriverError;
  if (e.code === '53100' || e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
  return typeof e.errcode === 'number' && (e.errcode & 0xff) === 13;
}

export function isSqliteCorruption(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as DriverError;
  return typeof e.errcode === 'number' && SQLITE_CORRUPT_PRIMARY.has(e.errcode & 0xff);
}
