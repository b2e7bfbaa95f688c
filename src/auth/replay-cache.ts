// Replay protection for the stock ollama CLI's signatures (docs/design.md §3). The CLI signs
// `METHOD,PATH?ts=SECONDS` with no server nonce (ollama api/client.go), so anyone who sees one
// request — a log, a proxy, a shoulder — could send the same header again while its timestamp is
// inside the ±300 s skew window. A signature is therefore accepted once for as long as the clock
// check would accept it: it is remembered until its own timestamp + skew has passed (not for a
// fixed time after first use, which left a gap at first use + 600 s), in the store — shared by
// every instance on a PostgreSQL store and kept across restarts — with a local
// cache in front, so a replay seen before costs no query and a first use costs one
// insert-if-absent.
//
// Consequence worth knowing: Ed25519 signatures are deterministic, so the CLI sending the same
// method and path twice within one second produces the identical header, and the second is
// refused (401) just like a replay. One CLI command uses a
// different method/path per call, but a script running `ollama list` twice in one second trips
// it; that is accepted (a grace for identical headers would also let a copy through).
//
// Memory is bounded: at most `maxEntries` locally (the oldest dropped first: the store still
// knows them); the store's rows are pruned once their timestamp left the window. Entries are only
// added after a signature has verified, so filling either needs a registered key.
import type { UsedSignatureRepo } from '../store/types.ts';
import { OLLAMA_SIGNATURE_SKEW_SECONDS } from './ollama-signature.ts';

export interface ReplayCache {
  /** Whether this signature (of `publicKey`, with timestamp `ts`) was used before, i.e. this is
   *  a replay; otherwise records it and returns false. Rejects when the store cannot answer:
   *  the caller must then refuse the request (fail closed). */
  claim(publicKey: string, signature: Buffer, ts: number, nowSeconds: number): Promise<boolean>;
  /** Entries held in memory. */
  readonly size: number;
}

export interface ReplayCacheOptions {
  /** Where used signatures are shared and kept. Without it, memory only (one process, lost on
   *  restart, and an entry dropped by `maxEntries` is forgotten): for tests and tools only. */
  store?: UsedSignatureRepo;
  /** The clock check's window (± seconds around `ts`). Default OLLAMA_SIGNATURE_SKEW_SECONDS. */
  skewSeconds?: number;
  maxEntries?: number;
  /** How often (seconds) expired rows are deleted from the store. Default 60. */
  pruneEverySeconds?: number;
  onError?: (err: unknown) => void;
}

interface Entry {
  expires: number;
}

export function createReplayCache(options: ReplayCacheOptions = {}): ReplayCache {
  const skew = options.skewSeconds ?? OLLAMA_SIGNATURE_SKEW_SECONDS;
  const maxEntries = options.maxEntries ?? 100_000;
  const pruneEvery = options.pruneEverySeconds ?? 60;
  if (!(skew > 0) || !Number.isInteger(maxEntries) || maxEntries < 1 || !(pruneEvery > 0)) {
    throw new TypeError('replay cache: skewSeconds must be > 0, maxEntries a positive integer, pruneEverySeconds > 0');
  }
  const store = options.store;
  const entries = new Map<string, Entry>();
  // Expiry follows each signature's own timestamp, not insertion order: entries are grouped by
  // the second they expire in, so a sweep touches only what expired.
  const byExpiry = new Map<number, string[]>();
  let swept = -Infinity;
  let pruned = -Infinity;

  function sweep(now: number): void {
    if (now === swept) return;
    swept = now;
    for (const [second, ids] of byExpiry) {
      if (second >= now) continue;
      byExpiry.delete(second);
      for (const id of ids) if (entries.get(id)?.expires === second) entries.delete(id);
    }
  }

  function remember(id: string, e: Entry): void {
    if (entries.size >= maxEntries) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
    entries.set(id, e);
    const list = byExpiry.get(e.expires);
    if (list) list.push(id);
    else byExpiry.set(e.expires, [id]);
  }

  function prune(now: number): void {
    if (!store || now - pruned < pruneEvery) return;
    pruned = now;
    store.prune(now).catch((err: unknown) => options.onError?.(err));
  }

  return {
    async claim(publicKey, signature, ts, nowSeconds) {
      sweep(nowSeconds);
      prune(nowSeconds);
      const id = `${publicKey}:${signature.toString('base64')}`;
      const known = entries.get(id);
      if (known) return true;
      // The last second the clock check accepts this timestamp is ts + skew.
      const expires = ts + skew;
      if (!store) {
        remember(id, { expires });
        return false;
      }
      const r = await store.claim(id, nowSeconds, expires);
      // Another request for the same signature may have finished meanwhile: keep its entry.
      if (!entries.has(id)) remember(id, { expires });
      return !r.fresh;
    },
    get size() {
      return entries.size;
    },
  };
}
