// Shared tools of the adversarial suite: a raw TLS socket (to send bytes no well-behaved client
// library would), the audit log as the server wrote it, a one-line "does it still serve?" and the
// fuzzers' seeded PRNG.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { request } from 'undici';
import { runCli, waitForKey, type RunningWarden } from '../helpers/warden.ts';
import type { FakeOllama } from '../helpers/fake-ollama.ts';

export interface RawResult {
  /** everything the server sent */
  text: string;
  /** the server closed the connection before waitMs ran out */
  closed: boolean;
  /** status codes of every response on the connection, in order */
  statuses: number[];
  /** milliseconds from connect to close (or to waitMs) */
  elapsedMs: number;
}

export interface RawOptions {
  /** bind the client side to this address (e.g. 127.0.0.2: "another client") */
  localAddress?: string;
  /** give up waiting for the server to close after this long (the socket is then destroyed) */
  waitMs?: number;
}

/** Opens a TLS connection to the warden (trusting its CA). Resolves once the handshake is done. */
export function openTls(w: RunningWarden, opts: RawOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // TLS over a TCP socket we open ourselves, so its local address can be chosen.
    const tcp = netConnect({ host: '127.0.0.1', port: w.port, localAddress: opts.localAddress });
    tcp.once('error', reject);
    const s = tlsConnect({ socket: tcp, ca: w.caPem, servername: 'localhost' });
    s.once('secureConnect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Collects what the server sends on `s` until it closes the connection or `waitMs` passes. */
export function collect(s: TLSSocket, waitMs: number, started = Date.now()): Promise<RawResult> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', () => undefined); // a reset is one way of being cut off
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!closed) s.destroy();
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ text, closed, statuses, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.once('close', () => finish(true));
  });
}

/** Sends raw bytes over TLS and reports what came back and whether the server closed. */
export async function rawExchange(w: RunningWarden, payload: string | Buffer, opts: RawOptions = {}): Promise<RawResult> {
  const started = Date.now();
  const s = await openTls(w, opts);
  const result = collect(s, opts.waitMs ?? 3000, started);
  s.write(payload);
  return result;
}

/** Joins header lines into a request head with CRLF line ends. */
export function head(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join('') + '\r\n';
}

export interface AuditLine {
  kind: string;
  id: string;
  status: number | null;
  method: string | null;
  path: string | null;
  clientAddress: string | null;
  keyId: string | null;
  authMethod: string | null;
  model: string | null;
  reason: string | null;
  promptTokens: number | null;
  evalTokens: number | null;
}

export function auditLines(w: RunningWarden): AuditLine[] {
  const file = join(w.dataDir, 'audit', 'audit.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);
}

/** Waits until the audit log holds a line matching `pred` (the writer batches), and returns it. */
export async function waitForAudit(w: RunningWarden, pred: (l: AuditLine) => boolean, timeoutMs = 4000): Promise<AuditLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = auditLines(w).find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) {
      const tail = auditLines(w).slice(-5).map((l) => JSON.stringify(l)).join('\n');
      throw new Error(`no matching audit line within ${timeoutMs} ms; last lines:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** After an attack: a normal authenticated request still gets its answer from Ollama. */
export async function assertStillServes(w: RunningWarden, fake: FakeOllama, key = w.adminKey): Promise<void> {
  const before = fake.requests.length;
  const res = await request(`${w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: w.dispatcher });
  const body = await res.body.text();
  assert.equal(res.statusCode, 200, `the server stopped serving after the attack: ${res.statusCode} ${body}`);
  assert.equal(fake.requests.length, before + 1, 'the follow-up request did not reach Ollama');
}

/** What a request through the Warden got, and whether anything reached Ollama meanwhile. */
export interface Passage {
  status: number;
  text: string;
  reached: boolean;
}

/** POSTs the JSON text `body` to `path` on `server` with `key` (default: its admin key). */
export async function sendThrough(server: RunningWarden, fake: FakeOllama, path: string, body: string, key = server.adminKey): Promise<Passage> {
  const before = fake.requests.length;
  const res = await request(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    dispatcher: server.dispatcher,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, reached: fake.requests.length > before };
}

/** Ollama's requests whose path starts with `prefix` (e.g. to prove a smuggled request never arrived). */
export function upstreamHits(fake: FakeOllama, prefix = '/'): number {
  return fake.requests.filter((r) => r.url.startsWith(prefix)).length;
}

/** Creates a key with the real CLI and waits until the running server accepts it. */
export async function createKeyViaCli(w: RunningWarden, args: string[]): Promise<{ id: string; key: string }> {
  const r = await runCli(['keys', 'create', '--json', ...args], { dataDir: w.dataDir });
  assert.equal(r.code, 0, `keys create failed: ${r.stderr}`);
  const k = JSON.parse(r.stdout) as { id: string; key: string };
  await waitForKey(w, k.key);
  return k;
}

/** mulberry32: a small seeded PRNG, so a fuzzer's failing case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every refusal Warden has counted (warden_refusals_total summed over its series), from
 *  /_warden/metrics: a flood's refusals must all be counted, whatever the audit aggregates. */
export async function refusalsCounted(w: RunningWarden): Promise<number> {
  const res = await request(`${w.url}/_warden/metrics`, { headers: { authorization: `Bearer ${w.adminKey}` }, dispatcher: w.dispatcher });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, text);
  let n = 0;
  for (const m of text.matchAll(/^warden_refusals_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}
