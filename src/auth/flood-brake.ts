// Server-wide brake on failed authentication (docs/security.md "Key guessing"). The per-address
// lockout (lockout.ts) cannot see a flood that uses a new address for every attempt — a botnet, or
// many clients behind one trusted proxy: no address ever fails twice. So failures are also counted
// over all addresses together: past a burst per second, each further one is held in the tarpit
// (server/tarpit.ts) before its 401. A flooder waiting for its answers (every HTTP client does)
// then gets about one per connection per pause, and its attempts cost us almost nothing.
//
// A token bucket: `burst` tokens, refilled at `burst` per second. O(1) and no per-address state,
// so a million addresses cost nothing here. Only failures are counted: a valid key is never held,
// not even during a flood, and a single client making a few mistakes is answered at once (it
// stays within the burst unless a flood is running at that very moment).
//
// Two buckets of the same size, one per kind of failure, so one kind of flood does not slow the
// other kind of client:
// - 'failed': a credential was sent and is wrong, malformed or ambiguous — a guess.
// - 'missing': no credential at all. Not a guess (no secret is tried), and the normal first request
//   of a client that sends its key only after a 401 challenge, of a monitoring probe, of a browser
//   opening the URL: a bad-key flood must not delay those. It still gets a brake of its own,
//   because otherwise a flood would simply leave the header out to dodge it; only a flood of
//   keyless requests fills it, and then a probe waits one pause, which costs it nothing but time.
// The admin UI and /_warden/health are answered before credentials are looked at and never meet it.

import { takeToken, type TokenBucket } from './token-bucket.ts';

export type FailureKind = 'failed' | 'missing';

export interface FloodBrakeOptions {
  /** failures of one kind per second, from all addresses together, answered at once */
  burst: number;
  /** clock in milliseconds (tests) */
  now?: () => number;
}

export interface FloodBrake {
  /** Counts one failure; true when it is past the burst and should be held before its answer. */
  holdBack(kind: FailureKind): boolean;
}


export function createFloodBrake(options: FloodBrakeOptions): FloodBrake {
  const { burst } = options;
  if (!Number.isInteger(burst) || burst <= 0) throw new TypeError(`flood brake: burst must be a positive integer, got ${String(burst)}`);
  const now = options.now ?? Date.now;
  const start = now();
  const buckets: Record<FailureKind, TokenBucket> = { failed: { tokens: burst, tokensAt: start }, missing: { tokens: burst, tokensAt: start } };
  return {
    holdBack(kind) {
      return !takeToken(buckets[kind], burst, now());
    },
  };
}
