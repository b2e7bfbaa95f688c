// File handling for TLS material: atomic writes with the right mode from the first byte, and
// reads that turn every file-system error into one clear message (never a stack trace).
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { ErrorCode, WardenError } from '../errors.ts';

const IS_POSIX = process.platform !== 'win32';

export function tlsError(message: string, cause?: unknown): WardenError {
  return new WardenError(ErrorCode.TLS_INVALID, message, cause === undefined ? {} : { cause });
}

/** A TLS error about one config field's file ("tls.cert", "tls.key", "tls.clientCA"): the
 *  message starts with the field, and the error carries it for the admin form (errors.ts). */
export function tlsFieldError(field: string, detail: string, cause?: unknown): WardenError {
  return new WardenError(ErrorCode.TLS_INVALID, `${field} ${detail}`, { cause, field });
}

/** Writes via a temp file + rename so a reader (the running server's watcher, a concurrent CLI)
 *  never sees half a key or a key with a loose mode. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: 0o600 | 0o644): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    // The umask may have removed bits from a 0644 file; a 0600 file can only have lost bits.
    if (IS_POSIX) chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw tlsError(`cannot write ${path}: ${errnoText(err)}`, err);
  }
}

export function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** Reads a text file; `what` names it in the error ("CA key"). */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw tlsError(`${what} ${path}: ${errnoText(err)}`, err);
  }
}

/** Reads the text file a config field names ("tls.cert"); an error carries the field. */
export function readFieldFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw tlsFieldError(field, `${path}: ${errnoText(err)}`, err);
  }
}

/** Refuses a private key that other local users could read (POSIX only; Windows uses ACLs). */
export function assertPrivateFile(path: string, what: string): void {
  if (!IS_POSIX) return;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw tlsError(`${what} ${path}: ${errnoText(err)}`, err);
  }
  if ((mode & 0o077) !== 0) {
    throw tlsError(
      `${what} ${path} is readable by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `run: chmod 600 '${path}'`,
    );
  }
}

export function fileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The file's text, or null when it cannot be read (callers treat that as "must be recreated"). */
export function readFileOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
