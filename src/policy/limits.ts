// Per-key limits (docs/design.md §4): requests per minute, tokens per minute, concurrent requests. In
// memory and O(1) per call; one instance per Warden process. Several instances on one PostgreSQL
// store share the limits through fleet-limits.ts, which falls back to this one when the store
// does not answer.
//
// - rpm: token bucket of `rpm` requests refilled at rpm/60 per second, so a key can burst to its
//   full minute and then runs at the steady rate.
// - tpm: a budget bucket of `tpm` tokens refilled at tpm/60 per second. A request is admitted
//   while the budget is above zero; its cost (the final `prompt_eval_count + eval_count`) is only
//   known afterwards and is charged with chargeTokens(), which may drive the budget negative —
//   the next requests then wait until it has refilled above zero.
// - concurrency: a counter; check() takes a slot and release() gives it back (idempotent).
// A refused request consumes nothing. check() runs before the request body is read (so a key's
// limits bound what its bodies can cost us); a request then refused by policy (403) is given
// back with release({ refund: true }), which also returns its rpm token: a 403 costs nothing.
//
// Memory: one entry per key id that has limits; call it only after authentication, so the ids
// are real key ids, not attacker input. `forget(id)` drops a deleted key's state.

export interface KeyLimits {
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
}

export type LimitReason = 'rpm' | 'tpm' | 'concurrency';

export interface ReleaseOptions {
  /** the request was refused by policy after check(): give its rpm token back too */
  refund?: boolean;
}

/** `release` must run exactly once whatever happens next: call it from a finally. Idempotent. */
export type LimitDecision = { ok: true; release(options?: ReleaseOptions): void } | { ok: false; retryAfterSeconds: number; reason: LimitReason };

export interface Limiter {
  /** Synchronous in memory; a Promise only for limits shared by a fleet (fleet-limits.ts, PostgreSQL). */
  check(keyId: string, limits: KeyLimits): LimitDecision | Promise<LimitDecision>;
  chargeTokens(keyId: string, n: number): void;
  forget(keyId: string): void;
}

interface Bucket {
  level: number;
  at: number; // ms of the last refill
}

interface State {
  rpm: Bucket;
  tpm: Bucket;
  /** the tpm limit seen at the last check, so a charge can refill before it subtracts */
  tpmLimit: number;
  inFlight: number;
}

export interface LimiterOptions {
  /** clock in milliseconds (tests) */
  now?: () => number;
}

const NOOP_RELEASE = { ok: true as const, release(): void {} };

function refill(b: Bucket, perMinute: number, t: number): void {
  if (t > b.at) {
    b.level = Math.min(perMinute, b.level + ((t - b.at) * perMinute) / 60_000);
    b.at = t;
  }
}

/** seconds until the bucket holds `need`, at least 1 (Retry-After is whole seconds). */
function waitSeconds(b: Bucket, need: number, perMinute: number): number {
  return Math.max(1, Math.ceil(((need - b.level) * 60) / perMinute));
}

/** A limit is set when it is a number above 0 (null or 0: unlimited). */
export const isLimit = (v: number | null): v is number => v !== null && v > 0;

/**
 * An admitted request, for this limiter and the fleet's: `release` gives back what check() took
 * (`free`) exactly once however often it is called, and with `refund` the rpm token too
 * (`refundRpm`, only when the key has an rpm limit).
 */
export function admitted(limits: KeyLimits, free: () => void, refundRpm: (rpm: number) => void): LimitDecision {
  const rpm = limits.rpm;
  let released = false;
  return {
    ok: true,
    release(options) {
      if (released) return;
      released = true;
      free();
      if (options?.refund && isLimit(rpm)) refundRpm(rpm);
    },
  };
}

/** The in-memory limiter: its decisions are never a Promise. */
export interface LocalLimiter extends Limiter {
  check(keyId: string, limits: KeyLimits): LimitDecision;
}

export function createLimiter(options: LimiterOptions = {}): LocalLimiter {
  const now = options.now ?? Date.now;
  const states = new Map<string, State>();

  function stateFor(keyId: string, limits: KeyLimits, t: number): State {
    let s = states.get(keyId);
    if (!s) {
      s = { rpm: { level: limits.rpm ?? 0, at: t }, tpm: { level: limits.tpm ?? 0, at: t }, tpmLimit: 0, inFlight: 0 };
      states.set(keyId, s);
    }
    return s;
  }

  return {
    check(keyId, limits) {
      if (!isLimit(limits.rpm) && !isLimit(limits.tpm) && !isLimit(limits.concurrency)) return NOOP_RELEASE;
      const t = now();
      const s = stateFor(keyId, limits, t);

      if (isLimit(limits.concurrency) && s.inFlight >= limits.concurrency) {
        return { ok: false, retryAfterSeconds: 1, reason: 'concurrency' };
      }
      if (isLimit(limits.tpm)) {
        s.tpmLimit = limits.tpm;
        refill(s.tpm, limits.tpm, t);
        if (s.tpm.level <= 0) return { ok: false, retryAfterSeconds: waitSeconds(s.tpm, 1, limits.tpm), reason: 'tpm' };
      }
      if (isLimit(limits.rpm)) {
        refill(s.rpm, limits.rpm, t);
        if (s.rpm.level < 1) return { ok: false, retryAfterSeconds: waitSeconds(s.rpm, 1, limits.rpm), reason: 'rpm' };
        s.rpm.level -= 1;
      }

      s.inFlight++;
      return admitted(
        limits,
        () => s.inFlight--,
        (rpm) => {
          refill(s.rpm, rpm, now());
          s.rpm.level = Math.min(rpm, s.rpm.level + 1);
        },
      );
    },
    chargeTokens(keyId, n) {
      const s = states.get(keyId);
      if (!s || s.tpmLimit <= 0 || !Number.isFinite(n) || n <= 0) return;
      refill(s.tpm, s.tpmLimit, now());
      s.tpm.level -= n;
    },
    forget(keyId) {
      states.delete(keyId);
    },
  };
}
