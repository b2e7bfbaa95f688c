// The in-memory view of every API key that the request path reads. No store query per request:
// the cache polls the store's change generation (one tiny query every 250 ms) and reloads the
// whole key table when another process — the CLI, the admin API, another instance — changed it.
// That is how a revocation from `warden keys revoke` reaches a running server within 1 s.
// Last-used stamps are collected here and written in one batch every few seconds.
import type { KeyRecord, Store } from '../store/types.ts';
import { keyState } from '../store/types.ts';
import { compileModelPatterns, type ModelMatcher } from '../policy/models.ts';
import { keyCapsOf, type KeyCaps } from '../policy/caps.ts';
import { compileOllamaKeyring, type OllamaKeyring } from './ollama-signature.ts';

export interface CachedKey {
  record: KeyRecord;
  models: ModelMatcher;
  scopes: ReadonlySet<string>;
  /** secretHash and, during a rotation grace, the previous one, as Buffers for timingSafeEqual. */
  hashes: Buffer[];
  /** registered ollama CLI public key blobs (base64 ssh-wire) */
  ollamaBlobs: readonly string[];
  /** the same keys parsed once, for signature checks */
  ollamaKeyring: OllamaKeyring;
  /** the key's own caps on expensive requests; null when it has none, so the gateway skips them */
  caps: KeyCaps | null;
}

export interface KeyCacheOptions {
  pollMs?: number;
  touchFlushMs?: number;
  onError?: (err: unknown) => void;
  /** Called after a reload with the keys that are no longer usable (revoked, deleted, expired). */
  onInvalidated?: (ids: ReadonlySet<string>) => void;
  /** Called after every reload (the store changed: keys or client certificates). */
  onReload?: () => void;
}

function compile(record: KeyRecord): CachedKey {
  const hashes = [Buffer.from(record.secretHash, 'hex')];
  if (record.previousSecretHash && record.previousExpiresAt) hashes.push(Buffer.from(record.previousSecretHash, 'hex'));
  return {
    record,
    models: compileModelPatterns(record.models),
    scopes: new Set(record.scopes),
    hashes,
    ollamaBlobs: record.ollamaPubkeys.map((k) => k.split(/\s+/)[1] ?? '').filter(Boolean),
    ollamaKeyring: safeKeyring(record.ollamaPubkeys),
    caps: keyCapsOf(record),
  };
}

/** A malformed stored key must not stop the whole cache from loading: it just never matches. */
function safeKeyring(pubkeys: readonly string[]): OllamaKeyring {
  try {
    return compileOllamaKeyring(pubkeys);
  } catch {
    return new Map();
  }
}

export class KeyCache {
  private keys = new Map<string, CachedKey>();
  private byOllamaBlob = new Map<string, CachedKey>();
  private byCert = new Map<string, CachedKey>();
  private generation = -1;
  private pollTimer: NodeJS.Timeout | null = null;
  private touchTimer: NodeJS.Timeout | null = null;
  private touched = new Map<string, Date>();
  private polling = false;
  private lastOnDemand = 0;
  private readonly store: Store;
  private readonly opts: KeyCacheOptions;

  constructor(store: Store, opts: KeyCacheOptions = {}) {
    this.store = store;
    this.opts = opts;
  }

  async start(): Promise<void> {
    await this.refresh(true);
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs ?? 250);
    this.pollTimer.unref();
    this.touchTimer = setInterval(() => void this.flushTouches(), this.opts.touchFlushMs ?? 5000);
    this.touchTimer.unref();
  }

  get(id: string): CachedKey | undefined {
    return this.keys.get(id);
  }

  byOllamaPubkey(blob: string): CachedKey | undefined {
    return this.byOllamaBlob.get(blob);
  }

  byCertFingerprint(fp: string): CachedKey | undefined {
    return this.byCert.get(fp);
  }

  counts(now = new Date()): { active: number; revoked: number; expired: number } {
    const c = { active: 0, revoked: 0, expired: 0 };
    for (const k of this.keys.values()) c[keyState(k.record, now)]++;
    return c;
  }

  /** Records a use; written to the store later in one batch. */
  touch(id: string): void {
    this.touched.set(id, new Date());
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await this.refresh(false);
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.polling = false;
    }
  }

  /** For a key id the cache does not know, or a secret it does not match: a key created or
   *  rotated a moment ago in another process may not have been polled yet. Checks the store's
   *  generation now — at most every `minIntervalMs`, so a flood of unknown keys costs at most
   *  that many tiny queries — and says whether anything changed. */
  async refreshIfStale(minIntervalMs = 100): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastOnDemand < minIntervalMs) return false;
    this.lastOnDemand = now;
    try {
      return await this.refresh(false);
    } catch (err) {
      this.opts.onError?.(err);
      return false;
    }
  }

  /** Reloads when the generation moved (or always, when forced). Returns whether it reloaded. */
  async refresh(force: boolean): Promise<boolean> {
    const gen = await this.store.generation();
    if (!force && gen === this.generation) return false;
    const records = await this.store.keys.list();
    const next = new Map<string, CachedKey>();
    const nextBlobs = new Map<string, CachedKey>();
    const nextCerts = new Map<string, CachedKey>();
    for (const r of records) {
      const c = compile(r);
      next.set(r.id, c);
      for (const b of c.ollamaBlobs) nextBlobs.set(b, c);
      if (r.certFingerprint) nextCerts.set(r.certFingerprint, c);
    }
    const invalidated = new Set<string>();
    const now = new Date();
    for (const [id, old] of this.keys) {
      // Only a key that became unusable cuts its streams; a rotation does not (the caller was valid when it started).
      const n = next.get(id);
      if (!n || (keyState(n.record, now) !== 'active' && keyState(old.record, now) === 'active')) {
        invalidated.add(id);
      }
    }
    this.keys = next;
    this.byOllamaBlob = nextBlobs;
    this.byCert = nextCerts;
    this.generation = gen;
    if (invalidated.size > 0) this.opts.onInvalidated?.(invalidated);
    this.opts.onReload?.();
    return true;
  }

  async flushTouches(): Promise<void> {
    if (this.touched.size === 0) return;
    const batch = this.touched;
    this.touched = new Map();
    try {
      await this.store.keys.touch(batch);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.touchTimer) clearInterval(this.touchTimer);
    this.pollTimer = this.touchTimer = null;
    await this.flushTouches();
  }
}
