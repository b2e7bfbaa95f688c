// What the running server does about its store in the background: say when it goes away and
// when it is back (one line each, not one per failure), and keep the disk space a revocation
// may need on a full disk (store/disk-reserve.ts) in place.
import type { Logger } from 'pino';
import { ErrorCode, isWardenError } from '../errors.ts';
import type { Store } from '../store/types.ts';
import type { Closers } from './shutdown.ts';

/** How often the revocation reserve is put back once there is room again. */
const RESERVE_CHECK_MS = 5000;

export function watchStore(store: Store, log: Logger, closers: Closers): void {
  store.health.onChange((reachable, info) => {
    if (reachable) log.info({ downForSeconds: Math.round(info.downForMs / 100) / 10 }, 'store reachable again');
    else log.error({ error: info.error }, 'store unreachable; serving from the key cache for at most store.maxStaleSeconds, then refusing requests (503)');
  });
  const reserve = store.diskReserve;
  if (!reserve) return;
  let held = reserve.ensure();
  if (!held) log.warn('disk full: cannot keep the store\'s reserve for revocations until space is freed');
  const timer = setInterval(() => {
    const now = reserve.ensure();
    if (now && !held) log.info('disk space back: the store\'s reserve for revocations is in place again');
    held = now;
  }, RESERVE_CHECK_MS).unref();
  closers.add(async () => clearInterval(timer));
}

/** Logs a background failure, except a store outage (the health line above says it) and a full
 *  disk (said once by the audit writer and the reserve, not every few seconds). */
export function logUnlessOutage(log: Logger, what: string): (err: unknown) => void {
  return (err) => {
    if (isWardenError(err) && (err.code === ErrorCode.STORE_UNAVAILABLE || err.code === ErrorCode.DISK_FULL)) return;
    log.error({ err }, what);
  };
}
