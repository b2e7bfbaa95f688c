// The audit log: one JSON line per request and per management action, written to a
// size-rotated file and to the store (for the UI).
//
// What it promises:
// - An answered request's line is in the file before the client can see the answer's end, so
//   it survives kill -9 of the process. The request path's events (writeBatched, writeRefusal)
//   are gathered for one event-loop turn and appended together, once (setImmediate); the answer's
//   end waits for that append (whenWritten; server/hold-end.ts). Every other event (write: key
//   and config changes, the CLI) is appended before the call returns, after the gathered lines,
//   so the file keeps the order events were written in. Not fsynced: process death, not power
//   loss.
// - Each event is in the file once: a failed or partial append is cut back off (no cut-off line
//   is ever left), and a line is never appended twice.
// - Each event is in the store once: batches are inserted idempotently by event id, so a retry
//   after an answer that never came (a dead connection) adds nothing twice.
// - Memory is bounded: at most MAX_QUEUED events wait for the store and as many lines for the
//   file (disk full). Past that the oldest waiting ones are dropped — for the store they are
//   still in the file — and counted (stats(), warden_audit_dropped_total).
// - A failing sink backs off (up to MAX_BACKOFF_MS) and says so once, and once when it is back.
import { mkdirSync, openSync, closeSync, statSync, renameSync, existsSync, rmSync, chmodSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEvent, AuditRepo } from '../store/types.ts';
import { hasUnsafeText, inert } from '../inert-text.ts';
import { redactPath, redactText } from './redact.ts';
import { RefusalAggregator } from './aggregate.ts';
import { newEventId } from './event-id.ts';

export interface AuditLogOptions {
  enabled: boolean;
  file: string;
  maxBytes: number;
  keep: number;
  repo: AuditRepo | null;
  /** Called once when a sink starts failing (disk full, store unreachable); events wait and are retried. */
  onError?: (err: unknown, sink?: AuditSink) => void;
  /** Called once when a failing sink works again. */
  onRecovered?: (sink: AuditSink, info: { failedForMs: number }) => void;
  flushIntervalMs?: number;
  /** Events (store) or lines (file) held while a sink fails; default MAX_QUEUED. */
  maxQueued?: number;
  /** Aggregate authentication refusals into per-second summaries (writeRefusal; default true). */
  aggregateRefusals?: boolean;
}

export type AuditSink = 'file' | 'store';

export interface AuditStats {
  /** events waiting for the store */
  storeQueued: number;
  /** lines waiting for the file (it could not be written: disk full…) */
  fileQueued: number;
  /** dropped because their queue was full */
  dropped: { file: number; store: number };
}

export const MAX_QUEUED = 10_000;
const MAX_BACKOFF_MS = 10_000;

export type AuditInput = Partial<AuditEvent> & { kind: string };

/** Text fields a client, an upstream or a certificate chose: key tokens redacted, then made
 *  inert (the path has its own redaction, redactPath). */
const FREE_TEXT = ['keyName', 'clientCertSubject', 'method', 'model', 'reason', 'actor'] as const;
/** Other text a client can put a key into: key tokens redacted. */
const SECRET_TEXT = ['clientAddress', 'authMethod', 'kind'] as const;
/** What either rule would change: `owk` in any case, or a character inert() escapes. Most text
 *  has neither, so the common case costs one test per field (the BMP ranges of inert-text.ts's
 *  UNSAFE; without the u flag, which V8 runs faster). */
// eslint-disable-next-line no-control-regex
const SUSPECT = /owk|[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/i;

export function completeEvent(input: AuditInput): AuditEvent {
  // Every field spelled out (no spread of a template and the input): one object of one shape.
  const e: AuditEvent = {
    keyId: input.keyId ?? null,
    keyName: input.keyName ?? null,
    authMethod: input.authMethod ?? null,
    clientAddress: input.clientAddress ?? null,
    tlsVersion: input.tlsVersion ?? null,
    clientCertSubject: input.clientCertSubject ?? null,
    method: input.method ?? null,
    path: input.path ?? null,
    model: input.model ?? null,
    status: input.status ?? null,
    durationMs: input.durationMs ?? null,
    bytesIn: input.bytesIn ?? null,
    bytesOut: input.bytesOut ?? null,
    promptTokens: input.promptTokens ?? null,
    evalTokens: input.evalTokens ?? null,
    reason: input.reason ?? null,
    actor: input.actor ?? null,
    time: input.time ?? new Date(),
    kind: input.kind,
    id: input.id ?? newEventId(),
  };
  // Secrets out first, then control characters made inert.
  // Stored inert: `warden audit`, jq on the file and the UI all show the same safe text, and no
  // reader has to remember to escape a model name someone put an escape sequence into.
  if (e.path !== null) {
    e.path = redactPath(e.path);
    if (hasUnsafeText(e.path)) e.path = inert(e.path);
  }
  for (const f of FREE_TEXT) {
    const v = e[f];
    if (v !== null && SUSPECT.test(v)) e[f] = inert(redactText(v));
  }
  for (const f of SECRET_TEXT) {
    const v = e[f];
    if (v !== null && SUSPECT.test(v)) e[f] = redactText(v);
  }
  return e;
}

/** A JSON string; text with nothing to escape (most of it) is quoted as it is. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
function jsonText(v: string | null): string {
  if (v === null) return 'null';
  return PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
}
function jsonNumber(v: number | null): string {
  return v === null || !Number.isFinite(v) ? 'null' : `${v}`;
}

/** Events of one millisecond share their time text (toISOString was a third of a line's cost). */
let isoMs = Number.NaN;
let isoText = '';
function isoTime(d: Date): string {
  const ms = d.getTime();
  if (ms !== isoMs) {
    isoText = d.toISOString();
    isoMs = ms;
  }
  return isoText;
}

/** The file form of an event: stable key order, ISO time, no nulls dropped (easy to grep and
 *  parse). Written out by hand, field by field (JSON.stringify of a copy with the time as text
 *  cost three times as much); test/audit/line.test.ts holds it to JSON.stringify's output. */
export function eventToLine(e: AuditEvent): string {
  return (
    `{"keyId":${jsonText(e.keyId)},"keyName":${jsonText(e.keyName)},"authMethod":${jsonText(e.authMethod)},` +
    `"clientAddress":${jsonText(e.clientAddress)},"tlsVersion":${jsonText(e.tlsVersion)},"clientCertSubject":${jsonText(e.clientCertSubject)},` +
    `"method":${jsonText(e.method)},"path":${jsonText(e.path)},"model":${jsonText(e.model)},"status":${jsonNumber(e.status)},` +
    `"durationMs":${jsonNumber(e.durationMs)},"bytesIn":${jsonNumber(e.bytesIn)},"bytesOut":${jsonNumber(e.bytesOut)},` +
    `"promptTokens":${jsonNumber(e.promptTokens)},"evalTokens":${jsonNumber(e.evalTokens)},"reason":${jsonText(e.reason)},` +
    `"actor":${jsonText(e.actor)},"time":"${isoTime(e.time)}","kind":${jsonText(e.kind)},"id":${jsonText(e.id)}}\n`
  );
}

/** A sink that is failing: when it started, and when to try again. */
interface Trouble {
  since: number;
  retryAt: number;
  backoffMs: number;
}

export class AuditLog {
  private storeQueue: AuditEvent[] = [];
  private fileQueue: string[] = [];
  /** Lines of this event-loop turn, appended together at its end (appendGathered). */
  private gathered: string[] = [];
  /** Called once the gathered lines are appended (or queued, when the file fails). */
  private waiters: Array<() => void> = [];
  private appendScheduled: NodeJS.Immediate | null = null;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private fd: number | null = null;
  private size = 0;
  private readonly opts: AuditLogOptions;
  private readonly maxQueued: number;
  private closed = false;
  private on: boolean;
  private readonly trouble: Record<AuditSink, Trouble | null> = { file: null, store: null };
  private readonly dropped = { file: 0, store: 0 };
  /** Refusal floods: one summary per group and second (audit/aggregate.ts). */
  private readonly refusals: RefusalAggregator | null;

  constructor(opts: AuditLogOptions) {
    this.opts = opts;
    this.on = opts.enabled;
    this.maxQueued = opts.maxQueued ?? MAX_QUEUED;
    this.refusals = opts.aggregateRefusals === false ? null : new RefusalAggregator((s) => this.writeEvent(s));
    if (opts.enabled) this.open();
  }

  private open(): void {
    const opts = this.opts;
    mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
    this.openFile();
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  private openFile(): void {
    this.fd = openSync(this.opts.file, 'a', 0o600);
    chmodSync(this.opts.file, 0o600);
    this.size = statSync(this.opts.file).size;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Turns the log on or off while running (admin settings). Queued events are still written. */
  setEnabled(on: boolean): void {
    if (on === this.on || this.closed) return;
    this.on = on;
    if (on && !this.timer) this.open();
  }

  stats(): AuditStats {
    return { storeQueued: this.storeQueue.length, fileQueued: this.fileQueue.length, dropped: { ...this.dropped } };
  }

  /** An event appended to the file before this returns (with the lines gathered before it). */
  write(input: AuditInput): void {
    if (!this.on || this.closed) return;
    this.writeEvent(input);
    this.appendGathered();
  }

  /** A request's event: appended at the end of this event-loop turn, together with the others
   *  of the turn (one write instead of one per request). Hold the answer's end until then:
   *  whenWritten. */
  writeBatched(input: AuditInput): void {
    if (!this.on || this.closed) return;
    this.writeEvent(input);
  }

  /** An authentication refusal (401 bad or missing key, 429 lockout: what a flood is made of),
   *  batched as writeBatched. Past a few per second, status, reason and address prefix, it is
   *  counted into one summary event instead of written on its own (audit/aggregate.ts). */
  writeRefusal(input: AuditInput): void {
    if (!this.on || this.closed) return;
    if (this.refusals?.absorb(input)) return;
    this.writeEvent(input);
  }

  /** Whether lines of this turn wait to be appended (an answer ended now would overtake them). */
  get waiting(): boolean {
    return this.gathered.length > 0;
  }

  /** Calls `done` once every line written so far is in the file: at once when none waits, else
   *  after this turn's append (also when that append fails: the lines then wait in the bounded
   *  queue and an answer is not held for a full disk). `done` must not throw. */
  whenWritten(done: () => void): void {
    if (this.gathered.length === 0) done();
    else this.waiters.push(done);
  }

  private writeEvent(input: AuditInput): void {
    const e = completeEvent(input);
    this.gathered.push(eventToLine(e));
    this.appendScheduled ??= setImmediate(this.appendGathered);
    if (this.opts.repo) {
      this.enqueue(this.storeQueue, e, 'store');
      if (this.storeQueue.length >= 1000 && !this.trouble.store) void this.flush();
    }
  }

  /** Appends the gathered lines with one write, then releases whatever waited for them. */
  private readonly appendGathered = (): void => {
    if (this.appendScheduled !== null) {
      clearImmediate(this.appendScheduled);
      this.appendScheduled = null;
    }
    const lines = this.gathered;
    if (lines.length > 0) {
      this.gathered = [];
      // Lines keep their order: while older ones wait (disk full), new ones wait behind them.
      if (this.fileQueue.length > 0 || !this.appendNow(lines.length === 1 ? lines[0]! : lines.join(''))) {
        for (const line of lines) this.enqueue(this.fileQueue, line, 'file');
      }
    }
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const done of waiters) {
      // Each is an answer's release (hold-end.ts, which cuts an answer it cannot end): one that
      // throws anyway must not keep the other answers held, nor take the process down.
      try {
        done();
      } catch {
        // nothing left to do for that answer
      }
    }
  };

  private enqueue<T>(queue: T[], item: T, sink: AuditSink): void {
    if (queue.length >= this.maxQueued) {
      queue.shift();
      this.dropped[sink]++;
    }
    queue.push(item);
  }

  /** One append of whole lines, now. On failure nothing of it stays in the file. */
  private appendNow(text: string): boolean {
    const t = this.trouble.file;
    if (t && Date.now() < t.retryAt) return false;
    const bytes = Buffer.from(text);
    try {
      if (this.fd === null) this.openFile();
      if (this.size > 0 && this.size + bytes.length > this.opts.maxBytes) this.rotate();
      let done = 0;
      try {
        while (done < bytes.length) done += writeSync(this.fd!, bytes, done, bytes.length - done);
      } catch (err) {
        // A short write before ENOSPC would leave half a line; cut exactly that part off the
        // end (the file is shared with the CLI, so our own idea of its size may be behind).
        if (done > 0) ftruncateSync(this.fd!, fstatSync(this.fd!).size - done);
        throw err;
      }
      this.size += bytes.length;
      this.recovered('file');
      return true;
    } catch (err) {
      this.failed('file', err);
      return false;
    }
  }

  private failed(sink: AuditSink, err: unknown): void {
    const now = Date.now();
    const t = this.trouble[sink];
    if (t) {
      t.backoffMs = Math.min(t.backoffMs * 2, MAX_BACKOFF_MS);
      t.retryAt = now + t.backoffMs;
      return;
    }
    this.trouble[sink] = { since: now, retryAt: now + 250, backoffMs: 250 };
    this.opts.onError?.(err, sink);
  }

  private recovered(sink: AuditSink): void {
    const t = this.trouble[sink];
    if (!t) return;
    this.trouble[sink] = null;
    this.opts.onRecovered?.(sink, { failedForMs: Date.now() - t.since });
  }

  /** Writes what waits: held file lines, then a store batch. Calls are serialised. */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.writing) await this.writing;
      this.flushFile();
      await this.flushStore();
    };
    const p = run();
    this.writing = p.finally(() => {
      if (this.writing === p) this.writing = null;
    });
    return p;
  }

  private flushFile(force = false): void {
    if (this.fileQueue.length === 0) return;
    const t = this.trouble.file;
    if (t && !force && Date.now() < t.retryAt) return;
    if (t) t.retryAt = 0;
    // In chunks, so one append stays a modest size.
    while (this.fileQueue.length > 0) {
      const chunk = this.fileQueue.slice(0, 500);
      if (!this.appendNow(chunk.join(''))) return;
      this.fileQueue.splice(0, chunk.length);
    }
  }

  private async flushStore(force = false): Promise<void> {
    const repo = this.opts.repo;
    if (!repo || this.storeQueue.length === 0) return;
    const t = this.trouble.store;
    if (t && !force && Date.now() < t.retryAt) return;
    while (this.storeQueue.length > 0) {
      const batch = this.storeQueue.slice(0, 1000);
      try {
        // Idempotent by event id: a batch whose commit was never confirmed may be sent again.
        await repo.insert(batch);
      } catch (err) {
        this.failed('store', err);
        return;
      }
      // Drop exactly what was sent; events dropped meanwhile by overflow came off the front.
      const i = this.storeQueue.indexOf(batch[batch.length - 1]!);
      this.storeQueue.splice(0, i + 1);
      this.recovered('store');
    }
  }

  /** audit.log → audit.log.1 → … → audit.log.<keep>; the oldest is dropped. */
  private rotate(): void {
    const { file, keep } = this.opts;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (keep === 0) {
      rmSync(file, { force: true });
    } else {
      rmSync(`${file}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
      renameSync(file, `${file}.1`);
    }
    this.openFile();
  }

  /** Writes what waits, one last try each (no backoff wait), then closes the file. */
  async close(): Promise<void> {
    // Summaries of the running second first: a refusal counted but never written would be lost.
    if (this.on && !this.closed) this.refusals?.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.writing) await this.writing;
    this.appendGathered();
    this.flushFile(true);
    await this.flushStore(true);
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
