// Per-key limits shared by every Warden instance on one PostgreSQL store.
// With SQLite (one instance) this file is never loaded: limits.ts alone counts, in memory.
//
// PostgreSQL itself keeps the fleet's counts, so there is no new server to run:
// - rpm and tpm are the same token buckets as limits.ts (refilled at limit/60 per second, a
//   key can burst to its full minute), one row per key and kind, timed by the database's clock
//   (instances' clocks may differ). Admission takes a token in one atomic statement.
// - concurrency is a table of slots, one row per running request, each with a lease that the
//   holding instance renews every LEASE_MS / 3; taking one is serialised per key by an advisory
//   lock. An instance that dies holding slots stops renewing them: they expire within LEASE_MS.
// One call to warden_fleet_admit() does all three in one round trip, only for keys that have a
// limit (a key without limits never touches the database). Release and token charges are sent
// in the background. So the bound is exact: with 3 instances and rpm 30, at most 30 requests in
// a burst and then 1 per 2 s, like one instance; with concurrency 2, at most 2 streams fleet-wide,
// plus the slots of an instance that died, for at most LEASE_MS (10 s).
//
// When the database does not answer within ADMIT_DEADLINE_MS the instance falls back to its own
// in-memory limiter (limits.ts): during a store outage each instance counts alone, as before.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { admitted, isLimit, type KeyLimits, type LimitDecision, type Limiter, type LocalLimiter } from './limits.ts';

/** A slot not renewed for this long is free again (an instance died holding it). */
export const LEASE_MS = 10_000;
const ADMIT_DEADLINE_MS = 1_000;

const SETUP = `
CREATE TABLE IF NOT EXISTS warden_fleet_buckets (
  key_id text NOT NULL, kind text NOT NULL, cap double precision NOT NULL,
  level double precision NOT NULL, at_ms double precision NOT NULL,
  PRIMARY KEY (key_id, kind));
CREATE TABLE IF NOT EXISTS warden_fleet_slots (
  id text PRIMARY KEY, key_id text NOT NULL, expires_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS warden_fleet_slots_key ON warden_fleet_slots (key_id);
CREATE OR REPLACE FUNCTION warden_fleet_now_ms() RETURNS double precision
  LANGUAGE sql VOLATILE AS $$ SELECT extract(epoch FROM clock_timestamp()) * 1000 $$;
-- refill a bucket to now (creating it full) and take 'cost' tokens when at least 'need' are there;
-- returns the level after, or NULL (and takes nothing) when there were not enough
CREATE OR REPLACE FUNCTION warden_fleet_take(p_key text, p_kind text, p_cap double precision, p_need double precision, p_cost double precision)
RETURNS double precision LANGUAGE plpgsql VOLATILE AS $$
DECLARE t double precision := warden_fleet_now_ms(); lvl double precision;
BEGIN
  INSERT INTO warden_fleet_buckets AS b VALUES (p_key, p_kind, p_cap, p_cap, t) ON CONFLICT (key_id, kind) DO NOTHING;
  SELECT LEAST(p_cap, b.level + GREATEST(0, t - b.at_ms) * p_cap / 60000.0) INTO lvl
    FROM warden_fleet_buckets b WHERE key_id = p_key AND kind = p_kind FOR UPDATE;
  IF lvl < p_need THEN RETURN NULL; END IF;
  UPDATE warden_fleet_buckets SET level = lvl - p_cost, at_ms = t, cap = p_cap WHERE key_id = p_key AND kind = p_kind;
  RETURN lvl - p_cost;
END $$;
-- 'ok', or the limit that refused ('concurrency', 'tpm', 'rpm'); nothing is taken when refused
CREATE OR REPLACE FUNCTION warden_fleet_admit(p_key text, p_slot text, p_conc int, p_rpm double precision, p_tpm double precision, p_lease_ms int)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_conc > 0 THEN
    PERFORM pg_advisory_xact_lock(hashtext('warden_fleet_slots:' || p_key));
    DELETE FROM warden_fleet_slots WHERE key_id = p_key AND expires_at <= clock_timestamp();
    IF (SELECT count(*) FROM warden_fleet_slots WHERE key_id = p_key) >= p_conc THEN RETURN 'concurrency'; END IF;
  END IF;
  IF p_tpm > 0 AND warden_fleet_take(p_key, 'tpm', p_tpm, 1e-9, 0) IS NULL THEN RETURN 'tpm'; END IF;
  IF p_rpm > 0 AND warden_fleet_take(p_key, 'rpm', p_rpm, 1, 1) IS NULL THEN RETURN 'rpm'; END IF;
  IF p_conc > 0 THEN
    INSERT INTO warden_fleet_slots VALUES (p_slot, p_key, clock_timestamp() + p_lease_ms * interval '1 millisecond');
  END IF;
  RETURN 'ok';
END $$;
`;

export interface FleetLimiter extends Limiter {
  close(): Promise<void>;
}

function deadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the store within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Sets up the tables and functions (idempotent; serialised across instances starting together). */
async function setup(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('warden_fleet_setup'))");
    await client.query(SETUP);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function createFleetLimiter(pool: pg.Pool, local: LocalLimiter, log: (msg: string, err?: unknown) => void): Promise<FleetLimiter> {
  await setup(pool);
  /** Slots this instance holds, renewed until released. */
  const held = new Set<string>();
  let degraded = false;
  const fallback = (err: unknown): void => {
    if (!degraded) log('fleet limits: the store did not answer; counting limits on this instance alone until it does', err);
    degraded = true;
  };
  const recovered = (): void => {
    if (degraded) log('fleet limits: the store answers again; limits are shared by the fleet');
    degraded = false;
  };
  const renew = setInterval(() => {
    if (held.size === 0) return;
    pool.query("UPDATE warden_fleet_slots SET expires_at = clock_timestamp() + $2 * interval '1 millisecond' WHERE id = ANY($1)", [[...held], LEASE_MS]).catch(fallback);
  }, LEASE_MS / 3);
  renew.unref();

  async function admit(keyId: string, limits: KeyLimits): Promise<LimitDecision> {
    const slot = isLimit(limits.concurrency) ? randomUUID() : '';
    let verdict: string;
    try {
      const r = await deadline(
        pool.query<{ v: string }>('SELECT warden_fleet_admit($1, $2, $3, $4, $5, $6) AS v', [
          keyId,
          slot,
          limits.concurrency ?? 0,
          limits.rpm ?? 0,
          limits.tpm ?? 0,
          LEASE_MS,
        ]),
        ADMIT_DEADLINE_MS,
      );
      verdict = r.rows[0]?.v ?? 'ok';
      recovered();
    } catch (err) {
      fallback(err);
      return local.check(keyId, limits);
    }
    if (verdict === 'concurrency') return { ok: false, retryAfterSeconds: 1, reason: 'concurrency' };
    if (verdict === 'tpm' || verdict === 'rpm') {
      const perMinute = (verdict === 'rpm' ? limits.rpm : limits.tpm) ?? 60;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(60 / perMinute)), reason: verdict };
    }
    if (slot) held.add(slot);
    return admitted(
      limits,
      () => {
        if (!slot) return;
        held.delete(slot);
        pool.query('DELETE FROM warden_fleet_slots WHERE id = $1', [slot]).catch(fallback);
      },
      // a request refused by policy gives its rpm token back (a 403 costs nothing)
      (rpm) => void pool.query("SELECT warden_fleet_take($1, 'rpm', $2, -1e9, -1)", [keyId, rpm]).catch(fallback),
    );
  }

  return {
    check(keyId, limits) {
      if (!isLimit(limits.rpm) && !isLimit(limits.tpm) && !isLimit(limits.concurrency)) return local.check(keyId, limits);
      return admit(keyId, limits);
    },
    chargeTokens(keyId, n) {
      local.chargeTokens(keyId, n);
      if (!Number.isFinite(n) || n <= 0) return;
      // only keys with a tpm limit have a tpm bucket: the update finds no row otherwise
      pool
        .query(
          `UPDATE warden_fleet_buckets SET level = LEAST(cap, level + GREATEST(0, warden_fleet_now_ms() - at_ms) * cap / 60000.0) - $2,
             at_ms = warden_fleet_now_ms() WHERE key_id = $1 AND kind = 'tpm'`,
          [keyId, n],
        )
        .catch(fallback);
    },
    forget(keyId) {
      local.forget(keyId);
    },
    async close() {
      clearInterval(renew);
      if (held.size > 0) await pool.query('DELETE FROM warden_fleet_slots WHERE id = ANY($1)', [[...held]]).catch(() => undefined);
      held.clear();
    },
  };
}
