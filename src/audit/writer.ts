// The audit log: one JSON line per request and per management action, written to a
// size-rotated file and to the store (for the UI). Events are queued and written in batches
// off the request path; close() drains the queue so a clean shutdown loses nothing.
import { mkdirSync, openSync, closeSync, statSync, renameSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditRepo } from '../store/types.ts';
import { hasUnsafeText, inert } from '../inert-text.ts';
import { redactPath, redactText } from './redact.ts';

export interface AuditLogOptions {
  enabled: boolean;
  file: string;
  maxBytes: number;
  keep: number;
  repo: AuditRepo | null;
  /** Called when a batch cannot be written (disk full…); the events stay queued for the next try. */
  onError?: (err: unknown) => void;
  flushIntervalMs?: number;
}

export type AuditInput = Partial<AuditEvent> & { kind: string };

const EMPTY: Omit<AuditEvent, 'time' | 'id' | 'kind'> = {
  keyId: null,
  keyName: null,
  authMethod: null,
  clientAddress: null,
  tlsVersion: null,
  clientCertSubject: null,
  method: null,
  path: null,
  model: null,
  status: null,
  durationMs: null,
  bytesIn: null,
  bytesOut: null,
  promptTokens: null,
  evalTokens: null,
  reason: null,
  actor: null,
};

/** Every other text field a client can put a key into. */
const SECRET_TEXT = ['keyName', 'clientCertSubject', 'method', 'model', 'reason', 'actor', 'clientAddress', 'authMethod', 'kind'] as const;

/** Fields that carry text a client, an upstream or a certificate chose. */
const FREE_TEXT = ['keyName', 'clientCertSubject', 'method', 'path', 'model', 'reason', 'actor'] as const;

export function completeEvent(input: AuditInput): AuditEvent {
  const e: AuditEvent = { ...EMPTY, time: new Date(), ...input, id: input.id ?? randomUUID() };
  // Secrets out first (issue 15 #6), then control characters made inert.
  if (e.path !== null) e.path = redactPath(e.path);
  for (const f of SECRET_TEXT) {
    const v = e[f];
    if (typeof v === 'string') e[f] = redactText(v);
  }
  // Stored inert: `warden audit`, jq on the file and the UI all show the same safe text, and no
  // reader has to remember to escape a model name someone put an escape sequence into.
  for (const f of FREE_TEXT) {
    const v = e[f];
    if (typeof v === 'string' && hasUnsafeText(v)) e[f] = inert(v);
  }
  return e;
}

/** The file form of an event: stable key order, ISO time, no nulls dropped (easy to grep and parse). */
export function eventToLine(e: AuditEvent): string {
  return JSON.stringify({ ...e, time: e.time.toISOString() }) + '\n';
}

export class AuditLog {
  private queue: AuditEvent[] = [];
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private size = 0;
  private readonly opts: AuditLogOptions;
  private closed = false;

  private on: boolean;

  constructor(opts: AuditLogOptions) {
    this.opts = opts;
    this.on = opts.enabled;
    if (opts.enabled) this.open();
  }

  private open(): void {
    const opts = this.opts;
    mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
    if (!existsSync(opts.file)) closeSync(openSync(opts.file, 'a', 0o600));
    chmodSync(opts.file, 0o600);
    this.size = statSync(opts.file).size;
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 200);
    this.timer.unref();
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

  write(input: AuditInput): void {
    if (!this.on || this.closed) return;
    this.queue.push(completeEvent(input));
    if (this.queue.length >= 1000) void this.flush();
  }

  /** Writes everything queued so far. Safe to call concurrently: calls are serialised. */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.writing) await this.writing;
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      try {
        await this.writeBatch(batch);
      } catch (err) {
        this.queue = batch.concat(this.queue);
        this.opts.onError?.(err);
      }
    };
    const p = run();
    this.writing = p.finally(() => {
      if (this.writing === p) this.writing = null;
    });
    return p;
  }

  private async writeBatch(batch: AuditEvent[]): Promise<void> {
    const text = batch.map(eventToLine).join('');
    const bytes = Buffer.byteLength(text);
    if (this.size > 0 && this.size + bytes > this.opts.maxBytes) this.rotate();
    await appendFile(this.opts.file, text, { mode: 0o600 });
    this.size += bytes;
    if (this.opts.repo) await this.opts.repo.insert(batch);
  }

  /** audit.log → audit.log.1 → … → audit.log.<keep>; the oldest is dropped. */
  private rotate(): void {
    const { file, keep } = this.opts;
    if (keep === 0) {
      rmSync(file, { force: true });
    } else {
      rmSync(`${file}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
      renameSync(file, `${file}.1`);
    }
    closeSync(openSync(file, 'a', 0o600));
    this.size = 0;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    this.closed = true;
  }
}
