// What every CLI command starts from: the data dir, the validated config, and (for commands
// that need it) the store with a key service whose actions land in the audit log.
import { existsSync, readdirSync, mkdirSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { loadConfig, configPath, resolveDataPath, type ConfigFlags } from '../config/load.ts';
import { resolveDataDir } from '../config/paths.ts';
import { openStore } from '../store/index.ts';
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

export function cliContext(opts: GlobalOptions, flags: ConfigFlags = {}): CliContext {
  const dataDir = resolveDataDir(opts.dataDir);
  const configFile = configPath({ dataDir, configFile: opts.config });
  const config = loadConfig({ dataDir, configFile, flags });
  return { dataDir, configFile, config };
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
    async close() {
      await audit.close();
      await store.close();
    },
  };
}
