// The failed-authentication lockout shared by every Warden instance on one PostgreSQL store
// (docs/deploy.md, "Several boxes"). With SQLite (one instance) this file is never loaded.
//
// The request path stays in memory (lockout.ts): a failure costs a Map entry, never a query.
// Every SYNC_MS the instance sends the failures it counted since the last sync, per address, in
// one statement; the store adds them to the address's count in its window and locks the address
// once the fleet's count reaches `failures`. The same sync reads back every address the fleet has
// locked, so an address locked through one instance is refused by all within about SYNC_MS.
// Worst case: an address spreading its guesses over N instances gets `failures` plus what it
// can send in about two sync intervals (its failures are slowed by delayMs meanwhile) before
// every instance refuses it. If the store does not answer, each instance counts alone.
import type pg from 'pg';
import { addressKey, type LockedAddress, type Lockout, type LockoutOptions } from './lockout.ts';

export const SYNC_MS = 250;
/** Addresses whose failures one sync sends at most (the rest wait for the next one). */
const MAX_BATCH = 10_000;

const SETUP = `
CREATE TABLE IF NOT EXISTS warden_fleet_lockout (
  addr text PRIMARY KEY, failures int NOT NULL, window_start timestamptz NOT NULL, locked_until timestamptz);
`;

/** Adds each address's new failures to its count in the current window; locks at the threshold. */
const RECORD = `
INSERT INTO warden_fleet_lockout AS l (addr, failures, window_start, locked_until)
SELECT a, n, clock_timestamp(), CASE WHEN n >= $3 THEN clock_timestamp() + $5 * interval '1 second' END
  FROM unnest($1::text[], $2::int[]) AS f(a, n)
ON CONFLICT (addr) DO UPDATE SET
  failures = CASE WHEN l.window_start + $4 * interval '1 second' <= clock_timestamp() THEN EXCLUDED.failures ELSE l.failures + EXCLUDED.failures END,
  window_start = CASE WHEN l.window_start + $4 * interval '1 second' <= clock_timestamp() THEN clock_timestamp() ELSE l.window_start END,
  locked_until = CASE
    WHEN l.locked_until > clock_timestamp() THEN l.locked_until
    WHEN (CASE WHEN l.window_start + $4 * interval '1 second' <= clock_timestamp() THEN EXCLUDED.failures ELSE l.failures + EXCLUDED.failures END) >= $3
      THEN clock_timestamp() + $5 * interval '1 second'
    ELSE l.locked_until END
`;

const LOCKED = `
SELECT addr, ceil(extract(epoch FROM locked_until - clock_timestamp()) * 1000)::bigint AS ms
  FROM warden_fleet_lockout WHERE locked_until > clock_timestamp()
`;

const CLEANUP = `
DELETE FROM warden_fleet_lockout
 WHERE (locked_until IS NULL OR locked_until <= clock_timestamp()) AND window_start + $1 * interval '1 second' <= clock_timestamp()
`;

export interface FleetLockout extends Lockout {
  /** Sends pending failures and reads the fleet's lockouts now (tests; the timer does it every SYNC_MS). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export async function createFleetLockout(pool: pg.Pool, local: Lockout, options: LockoutOptions, log: (msg: string, err?: unknown) => void): Promise<FleetLockout> {
  await pool.query(SETUP);
  const now = options.now ?? Date.now;
  /** address key → failures not yet sent */
  let pending = new Map<string, number>();
  /** address key → when the fleet's lockout of it ends (ms, this machine's clock) */
  let lockedByFleet = new Map<string, number>();
  let failing = false;
  let syncs = 0;
  let running: Promise<void> | null = null;

  async function syncOnce(): Promise<void> {
    const batch = pending;
    pending = new Map();
    try {
      if (batch.size > 0) {
        const entries = [...batch].slice(0, MAX_BATCH);
        for (const [k, n] of [...batch].slice(MAX_BATCH)) pending.set(k, n);
        await pool.query(RECORD, [entries.map((e) => e[0]), entries.map((e) => e[1]), options.failures, options.windowSeconds, options.lockoutSeconds]);
      }
      const r = await pool.query<{ addr: string; ms: string }>(LOCKED);
      const t = now();
      const next = new Map<string, number>();
      for (const row of r.rows) next.set(row.addr, t + Number(row.ms));
      lockedByFleet = next;
      if (++syncs % 240 === 0) await pool.query(CLEANUP, [Math.max(options.windowSeconds, options.lockoutSeconds)]);
      if (failing) log('fleet lockout: the store answers again; failed sign-ins are counted by the fleet');
      failing = false;
    } catch (err) {
      // keep the failures for the next try (bounded by MAX_BATCH addresses)
      for (const [k, n] of batch) if (pending.size < MAX_BATCH) pending.set(k, (pending.get(k) ?? 0) + n);
      if (!failing) log('fleet lockout: the store did not answer; failed sign-ins are counted on this instance alone until it does', err);
      failing = true;
    }
  }

  const sync = (): Promise<void> => {
    running ??= syncOnce().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void sync(), SYNC_MS);
  timer.unref();

  function fleetSeconds(addr: string): number {
    const until = lockedByFleet.get(addressKey(addr));
    if (until === undefined) return 0;
    const left = until - now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  return {
    isLocked(addr) {
      return Math.max(local.isLocked(addr), fleetSeconds(addr));
    },
    fail(addr) {
      const key = addressKey(addr);
      if (pending.size < MAX_BATCH || pending.has(key)) pending.set(key, (pending.get(key) ?? 0) + 1);
      return local.fail(addr);
    },
    delayMs: (addr) => local.delayMs(addr),
    holdBack: (addr) => local.holdBack(addr),
    succeed: (addr) => local.succeed(addr),
    list() {
      const t = now();
      const out = new Map<string, LockedAddress>(local.list().map((l) => [l.address, l]));
      for (const [address, until] of lockedByFleet) {
        const seconds = Math.ceil((until - t) / 1000);
        if (seconds > 0 && (out.get(address)?.lockedForSeconds ?? 0) < seconds) out.set(address, { address, lockedForSeconds: seconds, until: new Date(until).toISOString() });
      }
      return [...out.values()].sort((a, b) => b.lockedForSeconds - a.lockedForSeconds);
    },
    clear(addr) {
      const cleared = local.clear(addr);
      // the same spelling rules as lockout.ts: `2001:db8::/64` names the /64 itself
      const a = addr.trim().replace(/\/64$/, '');
      const key = addressKey(a.endsWith('::') ? `${a}1` : a);
      const fleetHad = lockedByFleet.delete(key);
      pending.delete(key);
      pool.query('DELETE FROM warden_fleet_lockout WHERE addr = $1', [key]).catch((err: unknown) => log('fleet lockout: clearing an address in the store failed', err));
      return cleared || fleetHad;
    },
    get size() {
      return local.size;
    },
    sync,
    async close() {
      clearInterval(timer);
      await sync();
    },
  };
}
