// Per-address brake on failed authentication (docs/design.md §3: "Repeated failures from one address are
// slowed, then refused for a while (429)"). In memory, O(1) per call, bounded: at most
// `maxEntries` addresses are tracked and the least recently failing one is forgotten first.
// No store access — an attacker's failures must cost us nothing but a Map entry.
//
// - `failures` failures within `windowSeconds` lock the address for `lockoutSeconds`.
// - From half of `failures` on, each failure asks the caller to wait a little longer before
//   answering (`delayMs`), doubling up to 2 s: a scanner slows down long before it is cut off.
// - A success clears the failure count but does NOT end a running lockout: otherwise one valid
//   key would let an attacker interleave successes and guess other keys without limit.
// - IPv6 clients are counted per /64 (one subscriber's allocation), IPv4-mapped IPv6 as IPv4,
//   so rotating through addresses one host owns does not escape the count.
// - An address's first failure only notes it in a fixed table (Probation below); its entry is
//   made at the second failure within the window. A flood from a new address per attempt (a
//   botnet) then allocates nothing here: an entry per attempt, each kept until 100,000 newer
//   ones pushed it out, was a long-lived object per refusal for the garbage collector.
import { isIPv6 } from 'node:net';
import { takeToken, type TokenBucket } from './token-bucket.ts';

export interface LockoutOptions {
  failures: number;
  windowSeconds: number;
  lockoutSeconds: number;
  /** locked-out attempts per second answered without the tarpit (token bucket). Default 100. */
  tarpitBurst?: number;
  /** clock in milliseconds (tests) */
  now?: () => number;
  maxEntries?: number;
}

export interface Lockout {
  /** seconds until the address may try again (0 if not locked); use for Retry-After */
  isLocked(addr: string): number;
  /** record a failure; returns the seconds locked (0 if this failure did not lock) */
  fail(addr: string): number;
  /** milliseconds to wait before answering this address's failure (progressive slow-down) */
  delayMs(addr: string): number;
  /** For a locked-out address: whether this attempt is past its burst and should be held back
   *  (tarpitted) before its 429. Call once per locked-out attempt. */
  holdBack(addr: string): boolean;
  succeed(addr: string): void;
  /** Addresses locked out now (IPv6 as its /64), for `warden lockout list`. */
  list(): LockedAddress[];
  /** Ends the lockout and forgets the failures of this address (or its /64); false if none. */
  clear(addr: string): boolean;
  readonly size: number;
}

export interface LockedAddress {
  /** IPv4 address, or an IPv6 /64 as `2001:db8:1:2::/64` */
  address: string;
  /** seconds until the lockout ends */
  lockedForSeconds: number;
  until: string;
}

interface Entry extends TokenBucket {
  count: number;
  windowStart: number;
  lockedUntil: number;
  // tokens, tokensAt: the bucket of immediate 429s while locked out
}

const MAX_DELAY_MS = 2000;

/** Slots of the first-failure table: 2^16 (768 kB, allocated once). */
const PROBATION_SLOTS = 1 << 16;

/**
 * Addresses that failed once within the window, as (32-bit hash of the address key, time) in a
 * fixed, direct-mapped table: no allocation per address. Two addresses with the same slot
 * overwrite each other, so under a flood of new addresses a first failure may be forgotten (that
 * address is then locked one failure later, and the server-wide flood brake slows such a flood
 * anyway); two different addresses are taken for one only if their full 32-bit hashes are equal.
 */
class Probation {
  private readonly hashes = new Int32Array(PROBATION_SLOTS);
  /** when the slot's first failure was; 0: empty */
  private readonly times = new Float64Array(PROBATION_SLOTS);

  /** Notes a first failure at `t`; when the address already had one within `windowMs`, forgets it
   *  and returns its time (the address gets its entry with two failures). Otherwise -1. */
  seen(key: string, t: number, windowMs: number): number {
    const h = fnv1a(key);
    const slot = h & (PROBATION_SLOTS - 1);
    const at = this.times[slot]!;
    if (at !== 0 && this.hashes[slot] === h && t - at < windowMs) {
      this.times[slot] = 0;
      return at;
    }
    this.hashes[slot] = h;
    this.times[slot] = t;
    return -1;
  }

  forget(key: string): boolean {
    const h = fnv1a(key);
    const slot = h & (PROBATION_SLOTS - 1);
    if (this.times[slot] === 0 || this.hashes[slot] !== h) return false;
    this.times[slot] = 0;
    return true;
  }
}

/** FNV-1a over the UTF-16 code units: cheap, and spreads addresses that differ in one digit. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** The unit we count per: IPv4 address, or the /64 of an IPv6 address. */
export function addressKey(addr: string): string {
  // Plain IPv4 (no colon) is by far the common case and needs no parsing.
  if (!addr.includes(':')) return addr.trim();
  const a = addr.trim().toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!isIPv6(a)) return a;
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export function createLockout(options: LockoutOptions): Lockout {
  const { failures, windowSeconds, lockoutSeconds } = options;
  for (const [name, v] of Object.entries({ failures, windowSeconds, lockoutSeconds })) {
    if (!Number.isInteger(v) || v <= 0) throw new TypeError(`lockout: ${name} must be a positive integer, got ${String(v)}`);
  }
  const now = options.now ?? Date.now;
  const burst = options.tarpitBurst ?? 100;
  const maxEntries = options.maxEntries ?? 100_000;
  const entries = new Map<string, Entry>();
  const slowFrom = Math.max(1, Math.ceil(failures / 2));
  // Only while a single failure neither slows nor locks (lockoutFailures ≥ 3): then an address
  // with one failure needs no entry.
  const probation = slowFrom > 1 ? new Probation() : null;
  const windowMs = windowSeconds * 1000;

  function current(key: string, t: number): Entry | undefined {
    const e = entries.get(key);
    if (!e) return undefined;
    if (e.lockedUntil <= t && t - e.windowStart >= windowSeconds * 1000) {
      entries.delete(key);
      return undefined;
    }
    return e;
  }

  return {
    isLocked(addr) {
      const t = now();
      const e = current(addressKey(addr), t);
      return e && e.lockedUntil > t ? Math.ceil((e.lockedUntil - t) / 1000) : 0;
    },
    fail(addr) {
      const key = addressKey(addr);
      const t = now();
      let e = current(key, t);
      if (e) {
        entries.delete(key); // re-insert below: Map order = least recently failing first
      } else {
        let windowStart = t;
        let count = 0;
        if (probation) {
          const first = probation.seen(key, t, windowMs);
          if (first < 0) return 0;
          windowStart = first;
          count = 1;
        }
        if (entries.size >= maxEntries) {
          const oldest = entries.keys().next();
          if (!oldest.done) entries.delete(oldest.value);
        }
        e = { count, windowStart, lockedUntil: 0, tokens: 0, tokensAt: t };
      }
      e.count++;
      entries.set(key, e);
      if (e.count >= failures && e.lockedUntil <= t) {
        e.lockedUntil = t + lockoutSeconds * 1000;
        e.tokens = burst;
        e.tokensAt = t;
        // the lockout starts a fresh window: after it ends the address gets a clean count
        e.count = 0;
        e.windowStart = e.lockedUntil;
        return lockoutSeconds;
      }
      return 0;
    },
    delayMs(addr) {
      const e = current(addressKey(addr), now());
      if (!e || e.count < slowFrom) return 0;
      return Math.min(MAX_DELAY_MS, 100 * 2 ** (e.count - slowFrom));
    },
    holdBack(addr) {
      const e = entries.get(addressKey(addr));
      if (!e) return false;
      return !takeToken(e, burst, now());
    },
    succeed(addr) {
      const key = addressKey(addr);
      const e = entries.get(key);
      if (e && e.lockedUntil <= now()) entries.delete(key);
      else if (!e) probation?.forget(key);
    },
    list() {
      const t = now();
      const out: LockedAddress[] = [];
      for (const [address, e] of entries) {
        if (e.lockedUntil > t) out.push({ address, lockedForSeconds: Math.ceil((e.lockedUntil - t) / 1000), until: new Date(e.lockedUntil).toISOString() });
      }
      return out.sort((a, b) => b.lockedForSeconds - a.lockedForSeconds);
    },
    clear(addr) {
      // `2001:db8::/64` as `lockout list` prints it names the /64 itself
      const a = addr.trim().replace(/\/64$/, '');
      const key = addressKey(a.endsWith('::') ? `${a}1` : a);
      const forgotten = probation?.forget(key) ?? false;
      return entries.delete(key) || forgotten;
    },
    get size() {
      return entries.size;
    },
  };
}
