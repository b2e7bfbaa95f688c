// What every CLI command starts from: the data dir, the validated config, and (for commands
// that need it) the store with a key service whose actions land in the audit log.
import { existsSync, readdirSync, mkdirSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { loadConfig, configPath, resolveDataPath, type ConfigFlags } from '../config/load.ts';
import { resolveDataDir, tlsDir } from '../config/paths.ts';
import { ClientCertService } from '../tls/cert-service.ts';
import { openStore, sqlitePath } from '../store/index.ts';
import { usageError } from '../errors.ts';
import type { Store } from '../store/types.ts';
import { AuditLog } from '../audit/writer.ts';
import { KeyService } from '../auth/key-service.ts';

export interface GlobalOptions {
  dataDir?: string;
  config?: string;
}

export interface CliContext {
  dataDir: string;
  configFile: string;
  config: Config;
}

/**
 * Resolves the data dir and loads the config. Every command but `init` (and `serve`'s first
 * run) needs a data dir that `init` made: a mistyped --data-dir must be an error, never a new
 * empty store that hands out keys no server will accept. Nothing is created here.
 */
export function cliContext(opts: GlobalOptions, flags: ConfigFlags = {}, o: { mayBeUninitialised?: boolean } = {}): CliContext {
  const dataDir = resolveDataDir(opts.dataDir);
  if (opts.config !== undefined && !existsSync(opts.config)) {
    throw usageError(`config file ${opts.config} does not exist (check --config; \`warden init --config ${opts.config}\` creates it)`);
  }
  if (!o.mayBeUninitialised && !existsSync(dataDir)) throw notInitialised(dataDir, `no Warden data directory at ${dataDir}`);
  const configFile = configPath({ dataDir, configFile: opts.config });
  const config = loadConfig({ dataDir, configFile, flags });
  if (!o.mayBeUninitialised && !hasStore(dataDir, config)) {
    throw notInitialised(dataDir, `no Warden store in ${dataDir} (${sqlitePath(config.store.url, dataDir)} does not exist)`);
  }
  return { dataDir, configFile, config };
}

function notInitialised(dataDir: string, what: string): Error {
  return usageError(`${what}; check --data-dir / WARDEN_DATA_DIR, or create one with \`warden init --data-dir ${dataDir}\``);
}

/**
 * Whether the store the config names exists. A SQLite store is a file in (or named from) the
 * data dir; a PostgreSQL store lives elsewhere and cannot be told apart without connecting,
 * so there the data dir existing is the check.
 */
export function hasStore(dataDir: string, config: Config): boolean {
  if (!config.store.url.startsWith('sqlite:')) return true;
  return existsSync(sqlitePath(config.store.url, dataDir));
}

/** A data dir that has never been initialised (missing, or empty). */
export function isEmptyDataDir(dataDir: string): boolean {
  return !existsSync(dataDir) || readdirSync(dataDir).length === 0;
}

export function ensureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

export interface StoreSession {
  store: Store;
  audit: AuditLog;
  keys: KeyService;
  certs: ClientCertService;
  close(): Promise<void>;
}

/** Opens the store for a management command; actions are audited with actor `cli`. */
export async function openStoreSession(ctx: CliContext): Promise<StoreSession> {
  const store = await openStore({ url: ctx.config.store.url, dataDir: ctx.dataDir });
  const audit = new AuditLog({
    enabled: ctx.config.audit.enabled,
    file: resolveDataPath(ctx.dataDir, ctx.config.audit.file),
    maxBytes: ctx.config.audit.maxBytes,
    keep: ctx.config.audit.keep,
    repo: store.audit,
  });
  return {
    store,
    audit,
    keys: new KeyService(store, (e) => audit.write(e)),
    certs: new ClientCertService({ tlsDir: tlsDir(ctx.dataDir), store: store.clientCerts, audit: (e) => audit.write(e) }),
    async close() {
      await audit.close();
      await store.close();
    },
  };
}
