// Opening the store named by `store.url`: `sqlite:FILE` (relative to the data dir) or
// `postgres://…`. Callers get the same Store either way.
import { isAbsolute, resolve } from 'node:path';
import { configError } from '../errors.ts';
import { openSqliteStore } from './sqlite/open.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  /** `sqlite:FILE` or `postgres://user@host/db` (also `postgresql://`). */
  url: string;
  /** Base for a relative SQLite path. */
  dataDir: string;
  /** Open without migrating or writing (status, audit readers); the schema must be current. */
  readOnly?: boolean;
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const readOnly = opts.readOnly ?? false;
  // pg is loaded only when a PostgreSQL store is configured (memory for everyone else).
  if (/^postgres(ql)?:\/\//i.test(opts.url)) return (await import('./postgres/open.ts')).openPostgresStore(opts.url, { readOnly });
  if (opts.url.startsWith('sqlite:')) return openSqliteStore(sqlitePath(opts.url, opts.dataDir), { readOnly });
  throw configError('store.url', `expected sqlite:FILE or postgres://user@host/db, got ${JSON.stringify(opts.url.split(':')[0] + ':…')}`);
}

/** The absolute file a `sqlite:` URL names. */
export function sqlitePath(url: string, dataDir: string): string {
  const file = url.slice('sqlite:'.length);
  if (file === '') throw configError('store.url', 'sqlite: needs a file name, e.g. sqlite:warden.db');
  return isAbsolute(file) ? file : resolve(dataDir, file);
}

export type { Store } from './types.ts';
