// The in-memory view of every API key that the request path reads. No store query per request:
// the cache polls the store's change generation (one tiny query every 250 ms) and, when another
// process — the CLI, the admin API, another instance — changed something, fetches only the key
// rows changed since the generation it holds (with 10,000 keys a full reload cost
// ~200 ms of blocked event loop per change). That is how a revocation from `warden keys revoke`
// reaches a running server within 1 s.
//
// Validity also changes with no store change at all: a key expires, a rotation's grace ends. A
// timer armed for the next such moment reports it then, so streams of an expiring key are cut at
// the moment of expiry and UI sessions of a retired secret end at once.
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
  /** Keys that are no longer usable (revoked, deleted, expired): called when the cache learns of
   *  the change, and for an expiry at the moment it happens. Their streams are cut. */
  onInvalidated?: (ids: ReadonlySet<string>) => void;
  /** Keys whose credentials may have changed in any way (any change to the record, deletion,
   *  expiry, the end of a rotation grace): holders of sessions re-check these. */
  onKeysChanged?: (ids: ReadonlySet<string>) => void;
  /** Called after every reload (the store changed: keys or client certificates). */
  onReload?: () => void;
  /** For tests: the clock. */
  now?: () => number;
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

/** setTimeout's longest delay is ~24.8 days; re-arm at least hourly for deadlines further off. */
const MAX_TIMER_MS = 3_600_000;

/** A min-heap of (time, key id): the moments a key's validity changes by the clock. Entries are
 *  not removed when a key changes; a popped entry is checked against the key's current record. */
class DeadlineHeap {
  private readonly items: Array<{ at: number; id: string }> = [];

  get size(): number {
    return this.items.length;
  }

  peek(): number | undefined {
    return this.items[0]?.at;
  }

  clear(): void {
    this.items.length = 0;
  }

  push(at: number, id: string): void {
    const a = this.items;
    a.push({ at, id });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): { at: number; id: string } | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

export class KeyCache {
  private keys = new Map<string, CachedKey>();
  private byOllamaBlob = new Map<string, CachedKey>();
  private byCert = new Map<string, CachedKey>();
  private generation = -1;
  private pollTimer: NodeJS.Timeout | null = null;
  private touchTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private deadlineTimerAt = Infinity;
  private readonly deadlines = new DeadlineHeap();
  private touched = new Map<string, Date>();
  private polling = false;
  private lastOnDemand = 0;
  /** Refreshes run one at a time: an incremental reload applied out of order could put back an
   *  older record over a newer one. */
  private running: Promise<unknown> = Promise.resolve();
  private confirmedAt = -Infinity;
  private stopped = false;
  private readonly store: Store;
  private readonly opts: KeyCacheOptions;
  private readonly now: () => number;

  constructor(store: Store, opts: KeyCacheOptions = {}) {
    this.store = store;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
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

  /** The store generation this view reflects (-1 before the first load). */
  get currentGeneration(): number {
    return this.generation;
  }

  /** Pending expiry / grace-end moments (diagnostics; bounded by the number of keys). */
  get pendingDeadlines(): number {
    return this.deadlines.size;
  }

  /** When (Date.now() ms) the store last confirmed this view: the last successful generation
   *  read, whether or not anything had changed. -Infinity before the first load. */
  get lastConfirmedAt(): number {
    return this.confirmedAt;
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

  /** For a key id, secret or ollama public key the cache does not know: a key created or
   *  rotated a moment ago in another process may not have been polled yet. Checks the store's
   *  generation now — at most every `minIntervalMs`, so a flood of unknown keys costs at most
   *  that many tiny queries — and says whether the view changed meanwhile (by this refresh or
   *  by a poll that was already under way), i.e. whether checking again is worth it. */
  async refreshIfStale(minIntervalMs = 100): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastOnDemand < minIntervalMs) return false;
    this.lastOnDemand = now;
    const before = this.generation;
    try {
      await this.refresh(false);
      return this.generation !== before;
    } catch (err) {
      this.opts.onError?.(err);
      return false;
    }
  }

  /** Applies what changed since the generation held (everything, when forced). Returns whether
   *  the generation moved. */
  refresh(force: boolean): Promise<boolean> {
    const run = this.running.then(() => this.refreshNow(force));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async refreshNow(force: boolean): Promise<boolean> {
    const asked = Date.now();
    const gen = await this.store.generation();
    // Confirmed only once the view matches the store: a generation read whose changes then
    // fail to load leaves the view as stale as before (store.maxStaleSeconds, fail closed).
    if (!force && gen === this.generation) {
      this.confirmedAt = asked;
      return false;
    }
    const changes = await this.store.keys.changesSince(force ? -1 : this.generation);
    const now = this.now();
    const invalidated = new Set<string>();
    const touchedIds = new Set<string>();
    if (changes.full) {
      const prev = this.keys;
      this.keys = new Map();
      this.byOllamaBlob = new Map();
      this.byCert = new Map();
      this.deadlines.clear();
      for (const r of changes.changed) this.put(r, prev.get(r.id), now, invalidated, touchedIds);
      for (const id of prev.keys()) {
        if (!this.keys.has(id)) {
          invalidated.add(id);
          touchedIds.add(id);
        }
      }
    } else {
      for (const r of changes.changed) this.put(r, this.keys.get(r.id), now, invalidated, touchedIds);
      for (const id of changes.deleted) this.remove(id, invalidated, touchedIds);
    }
    this.generation = Math.max(this.generation, changes.generation);
    this.confirmedAt = asked;
    this.compactDeadlines(now);
    this.armDeadlineTimer();
    if (invalidated.size > 0) this.opts.onInvalidated?.(invalidated);
    if (touchedIds.size > 0) this.opts.onKeysChanged?.(touchedIds);
    this.opts.onReload?.();
    return true;
  }

  private put(r: KeyRecord, old: CachedKey | undefined, now: number, invalidated: Set<string>, changed: Set<string>): void {
    if (old) this.unindex(old);
    const c = compile(r);
    this.keys.set(r.id, c);
    for (const b of c.ollamaBlobs) this.byOllamaBlob.set(b, c);
    if (r.certFingerprint) this.byCert.set(r.certFingerprint, c);
    if (r.expiresAt && r.expiresAt.getTime() > now) this.deadlines.push(r.expiresAt.getTime(), r.id);
    if (r.previousExpiresAt && r.previousExpiresAt.getTime() > now) this.deadlines.push(r.previousExpiresAt.getTime(), r.id);
    if (old) {
      changed.add(r.id);
      // Any change that leaves the key unusable cuts its streams, whatever its state was before:
      // revoking an already-expired key must cut a stream that slipped past. A rotation does not
      // (the caller was valid when it started; its sessions are re-checked through `changed`).
      if (keyState(r, new Date(now)) !== 'active') invalidated.add(r.id);
    }
  }

  private remove(id: string, invalidated: Set<string>, changed: Set<string>): void {
    const old = this.keys.get(id);
    if (!old) return;
    this.unindex(old);
    this.keys.delete(id);
    invalidated.add(id);
    changed.add(id);
  }

  private unindex(c: CachedKey): void {
    for (const b of c.ollamaBlobs) if (this.byOllamaBlob.get(b) === c) this.byOllamaBlob.delete(b);
    const fp = c.record.certFingerprint;
    if (fp && this.byCert.get(fp) === c) this.byCert.delete(fp);
  }

  /** Every change pushes the key's deadlines again and stale ones wait for their time: rebuild
   *  the heap from the current keys when it has grown well past them (a key updated over and
   *  over must not grow memory). */
  private compactDeadlines(now: number): void {
    if (this.deadlines.size <= 2 * this.keys.size + 1024) return;
    this.deadlines.clear();
    for (const { record: r } of this.keys.values()) {
      if (r.expiresAt && r.expiresAt.getTime() > now) this.deadlines.push(r.expiresAt.getTime(), r.id);
      if (r.previousExpiresAt && r.previousExpiresAt.getTime() > now) this.deadlines.push(r.previousExpiresAt.getTime(), r.id);
    }
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    this.deadlineTimerAt = Infinity;
  }

  private armDeadlineTimer(): void {
    const next = this.deadlines.peek();
    if (this.stopped || next === undefined) return;
    if (this.deadlineTimer && next >= this.deadlineTimerAt) return;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const delay = Math.min(Math.max(0, next - this.now()), MAX_TIMER_MS);
    this.deadlineTimerAt = next;
    this.deadlineTimer = setTimeout(() => this.onDeadline(), delay);
    this.deadlineTimer.unref();
  }

  /** A key expired or a rotation grace ended: nothing in the store changed, the clock did. */
  private onDeadline(): void {
    this.deadlineTimer = null;
    this.deadlineTimerAt = Infinity;
    const now = this.now();
    const expired = new Set<string>();
    const changed = new Set<string>();
    for (let at = this.deadlines.peek(); at !== undefined && at <= now; at = this.deadlines.peek()) {
      const { id } = this.deadlines.pop()!;
      const r = this.keys.get(id)?.record;
      if (!r) continue;
      // A stale entry (the key was changed since) is skipped unless it still names a deadline.
      if (r.expiresAt?.getTime() === at) {
        if (!r.revokedAt) expired.add(id);
        changed.add(id);
      } else if (r.previousExpiresAt?.getTime() === at) {
        changed.add(id);
      }
    }
    this.armDeadlineTimer();
    if (expired.size > 0) this.opts.onInvalidated?.(expired);
    if (changed.size > 0) this.opts.onKeysChanged?.(changed);
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
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.touchTimer) clearInterval(this.touchTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.pollTimer = this.touchTimer = this.deadlineTimer = null;
    await this.flushTouches();
  }
}
