// Sign-in throttle: at most `limit` attempts per client address per window. An admin key is
// 192+ random bits, so this is not what keeps it safe; it keeps the store and the audit log from
// being flooded and makes a stolen-cookie-less brute force visibly noisy.
import { addressKey } from '../auth/lockout.ts';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the address may try again (only when not allowed). */
  retryAfterSeconds: number;
}

/** Addresses tracked at once; beyond this the oldest windows are forgotten. */
const MAX_TRACKED = 10000;

export class AttemptLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(limit = 10, windowMs = 60_000, now: () => number = Date.now) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.now = now;
  }

  /** Counts one attempt from `address` (an IPv6 client per /64, as the lockout counts). */
  hit(clientAddress: string): RateLimitResult {
    const address = addressKey(clientAddress);
    const t = this.now();
    let w = this.windows.get(address);
    if (!w || t - w.start >= this.windowMs) {
      if (!w && this.windows.size >= MAX_TRACKED) this.evict(t);
      w = { start: t, count: 0 };
      this.windows.set(address, w);
    }
    w.count++;
    if (w.count > this.limit) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((w.start + this.windowMs - t) / 1000)) };
    return { allowed: true, retryAfterSeconds: 0 };
  }

  private evict(t: number): void {
    for (const [a, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(a);
    while (this.windows.size >= MAX_TRACKED) {
      const first = this.windows.keys().next().value;
      if (first === undefined) break;
      this.windows.delete(first);
    }
  }
}
