// The per-key limits (rpm, tpm, concurrency) and the failed-authentication lockout. With SQLite
// there is one instance and both stay in memory. Several instances on one PostgreSQL store share
// them there (docs/deploy.md): counted in memory, synced through the store. One lockout table:
// the gateway counts failures in it, `warden lockout list|clear` reads it.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { createLockout, type Lockout } from '../auth/lockout.ts';
import { createLimiter, type Limiter } from '../policy/limits.ts';
import type { Closers } from './shutdown.ts';

export async function buildLimits(config: Config, log: Logger, closers: Closers): Promise<{ limiter: Limiter; lockout: Lockout }> {
  const lockoutOptions = {
    failures: config.security.lockoutFailures,
    windowSeconds: config.security.lockoutWindowSeconds,
    lockoutSeconds: config.security.lockoutSeconds,
    tarpitBurst: config.security.lockoutTarpitBurst,
  };
  const lockout = createLockout(lockoutOptions);
  if (!/^postgres(ql)?:\/\//i.test(config.store.url)) return { limiter: createLimiter(), lockout };
  // Loaded only when the store is PostgreSQL.
  const [{ guardedPool }, { createFleetLimiter }, { createFleetLockout }] = await Promise.all([
    import('../store/postgres/guarded-pool.ts'),
    import('../policy/fleet-limits.ts'),
    import('../auth/fleet-lockout.ts'),
  ]);
  const pool = guardedPool({ url: config.store.url, max: 4, queryDeadlineMs: 2_000, connectTimeoutMs: 1_000, onOutcome: () => {} }).pg;
  const fleetLog = (msg: string, err?: unknown): void => (err === undefined ? log.info(msg) : log.warn({ err }, msg));
  const fleet = await createFleetLimiter(pool, createLimiter(), fleetLog);
  const fleetLockout = await createFleetLockout(pool, lockout, lockoutOptions, fleetLog);
  closers.add(async () => {
    await fleet.close();
    await fleetLockout.close().catch(() => undefined);
    await pool.end();
  });
  return { limiter: fleet, lockout: fleetLockout };
}
