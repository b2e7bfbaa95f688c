// The token bucket both tarpits decide with (lockout.ts per address, flood-brake.ts for all
// addresses together): `burst` answers at once, refilled at `burst` per second. A plain record
// the caller keeps (a lockout entry carries its bucket in its own fields: no object per address).

export interface TokenBucket {
  tokens: number;
  /** when `tokens` was last brought up to date, in milliseconds */
  tokensAt: number;
}

/** Refills the bucket up to `t` and takes one token: true when one was there. */
export function takeToken(b: TokenBucket, burst: number, t: number): boolean {
  if (t > b.tokensAt) {
    b.tokens = Math.min(burst, b.tokens + ((t - b.tokensAt) / 1000) * burst);
    b.tokensAt = t;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}
