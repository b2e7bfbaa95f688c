// How fresh this instance's view of the keys is, for the fail-closed rule (store.maxStaleSeconds),
// GET /_warden/health and `warden status`.
import { ErrorCode, WardenError } from '../errors.ts';
import type { StoreHealth } from '../store/health.ts';

export interface StoreView {
  /** The store answers and has confirmed the key view within store.maxStaleSeconds. */
  reachable: boolean;
  /** Whole seconds the store has been unreachable (0 when reachable). */
  unreachableSeconds: number;
  /** Whole seconds since the store last confirmed this instance's view of the keys. */
  staleSeconds: number;
  maxStaleSeconds: number;
}

/** Milliseconds since the store last confirmed the key cache's view. */
export function staleForMs(keys: { lastConfirmedAt: number }, now = Date.now()): number {
  return Math.max(0, now - keys.lastConfirmedAt);
}

export function storeFreshness(keys: { lastConfirmedAt: number }, health: StoreHealth | undefined, maxStaleMs: number, now = Date.now()): { refusing: boolean; reachable: boolean; view: StoreView } {
  const staleMs = staleForMs(keys, now);
  const refusing = staleMs > maxStaleMs;
  const down = health !== undefined && !health.reachable;
  const reachable = !down && !refusing;
  const downMs = down ? now - health.since.getTime() : refusing ? staleMs : 0;
  return {
    refusing,
    reachable,
    view: { reachable, unreachableSeconds: Math.floor(downMs / 1000), staleSeconds: Math.floor(staleMs / 1000), maxStaleSeconds: maxStaleMs / 1000 },
  };
}

export function storeStaleError(staleMs: number): WardenError {
  const s = Math.floor(staleMs / 1000);
  return new WardenError(ErrorCode.STORE_UNAVAILABLE, `Warden cannot reach its key store (for ${s} s) and refuses requests until it is back`, {
    headers: { 'retry-after': '5' },
    reason: `store has not confirmed the key view for ${s} s (store.maxStaleSeconds)`,
  });
}
