// The running server's audit log: the JSON-lines file and the store (audit/writer.ts), with one
// log line when a sink starts failing and one when it is back, and the store's copy pruned to
// audit.storeDays every hour.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import { ErrorCode, isWardenError } from '../errors.ts';
import type { Store } from '../store/types.ts';
import { AuditLog } from '../audit/writer.ts';
import type { Closers } from './shutdown.ts';

const PRUNE_EVERY_MS = 3_600_000;

export function openAuditLog(config: Config, dataDir: string, store: Store, log: Logger, closers: Closers): AuditLog {
  const audit = new AuditLog({
    enabled: config.audit.enabled,
    file: resolveDataPath(dataDir, config.audit.file),
    maxBytes: config.audit.maxBytes,
    keep: config.audit.keep,
    repo: store.audit,
    // Store outages already have their own line from the store's health (store-upkeep.ts).
    onError: (err, sink) => {
      if (sink === 'store' && isWardenError(err) && err.code === ErrorCode.STORE_UNAVAILABLE) return;
      const code = (err as { code?: unknown }).code;
      const full = code === 'ENOSPC' || code === 'EDQUOT' || /SQLITE_FULL|database or disk is full/i.test(String(err));
      log.error({ err, sink }, full ? `audit ${sink}: disk full; holding events in memory (bounded) and retrying with backoff` : `audit ${sink} write failed; holding events and retrying with backoff`);
    },
    onRecovered: (sink, info) => log.info({ sink, failedForSeconds: Math.round(info.failedForMs / 100) / 10 }, `audit ${sink} writable again; held events written`),
  });
  closers.add(() => audit.close());
  // The store keeps audit.storeDays of events for the UI; older ones are pruned hourly.
  const prune = (): void => {
    store.audit.prune(new Date(Date.now() - config.audit.storeDays * 86_400_000)).catch((err: unknown) => log.error({ err }, 'audit prune failed'));
  };
  prune();
  const pruneTimer = setInterval(prune, PRUNE_EVERY_MS).unref();
  closers.add(async () => clearInterval(pruneTimer));
  return audit;
}
