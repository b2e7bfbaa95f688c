// Replay protection for the stock ollama CLI's signatures (DESIGN §3). The CLI signs
// `METHOD,PATH?ts=SECONDS` with no server nonce (ollama api/client.go), so anyone who sees one
// request — a log, a proxy, a shoulder — could send the same header again for ±300 s. We remember
// every (public key, signature) accepted within that window and refuse a second use.
//
// Consequence worth knowing: Ed25519 signatures are deterministic, so the CLI sending the same
// method and path twice within one second produces the identical header, and with the default
// (strict) setting the second is refused (401) just like a replay. One CLI command uses a
// different method/path per call, but a script running `ollama list` twice in one second trips
// it. `duplicateGraceSeconds` (e.g. 2) lets an identical header through again for that long
// after its first use: a copy read from a log or a proxy later than that is still refused.
//
// Memory is bounded: at most `maxEntries`; when full the oldest entry is dropped. Entries are
// only added after a signature has verified, so filling the cache needs a registered key.

export interface ReplayCache {
  /** true if this (publicKey, signature) was already seen within the window (and so is a replay);
   *  otherwise records it and returns false. */
  seen(publicKey: string, signature: Buffer, nowSeconds: number): boolean;
  readonly size: number;
}

export interface ReplayCacheOptions {
  /** How long an accepted signature stays remembered. Must cover the whole ±skew window: 2 × 300 s. */
  windowSeconds?: number;
  maxEntries?: number;
  /** An identical header is accepted again for this many seconds after its first use. Default 0. */
  duplicateGraceSeconds?: number;
}

export function createReplayCache(options: ReplayCacheOptions = {}): ReplayCache {
  const windowSeconds = options.windowSeconds ?? 600;
  const maxEntries = options.maxEntries ?? 100_000;
  const grace = options.duplicateGraceSeconds ?? 0;
  if (!(windowSeconds > 0) || !Number.isInteger(maxEntries) || maxEntries < 1 || !(grace >= 0)) {
    throw new TypeError('replay cache: windowSeconds must be > 0, maxEntries a positive integer, duplicateGraceSeconds ≥ 0');
  }
  // Insertion order = time order (expiry is insert time + window), so expired entries are
  // always at the front of the Map and sweeping is O(1) amortised.
  const entries = new Map<string, { firstSeen: number; expires: number }>();

  function sweep(now: number): void {
    for (const [k, e] of entries) {
      if (e.expires > now) break;
      entries.delete(k);
    }
  }

  return {
    seen(publicKey, signature, nowSeconds) {
      sweep(nowSeconds);
      const id = `${publicKey}:${signature.toString('base64')}`;
      const known = entries.get(id);
      if (known) return grace === 0 || nowSeconds - known.firstSeen > grace;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(id, { firstSeen: nowSeconds, expires: nowSeconds + windowSeconds });
      return false;
    },
    get size() {
      return entries.size;
    },
  };
}
