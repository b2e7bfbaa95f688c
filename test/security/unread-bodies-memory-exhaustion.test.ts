// Attack: exhaust the gateway's memory with request bodies that never finish. Bodies are read
// whole before they are inspected; a key limited to --concurrency 1 --rpm 5 used to hold 24
// unfinished 29 MiB bodies from one address (RSS 113 → 826 MB, and it stayed there), because its
// limits were checked only after the body had been read. Now the key's limits come first (its
// second body is refused unread), all bodies in flight share one budget (limits.bodyMemoryBytes:
// 503 + Retry-After past it), and a body's memory is given back when its socket closes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { auditLines, createKeyViaCli, openTls, head, waitForAudit } from './helpers.ts';

const MIB = 1024 * 1024;

const stack = withWarden({ ollama: { chunks: 1, delayMs: 0 }, env: { WARDEN_LIMITS_BODY_MEMORY_BYTES: String(64 * MIB) } });

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

interface Held {
  socket: TLSSocket;
  text(): string;
  closed(): boolean;
}

/** Opens a connection, announces `declared` bytes of JSON body for `key`, sends `send` of them. */
async function holdBody(key: string, declared: number, send: number, chunked = false): Promise<Held> {
  const s = await openTls(stack.w);
  let text = '';
  let closed = false;
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('error', () => undefined);
  s.on('close', () => (closed = true));
  const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
  s.write(head('POST /api/chat HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${key}`, 'Content-Type: application/json', framing));
  if (send > 0) {
    const body = Buffer.alloc(send, 0x20);
    body.write('{"model":"llama3.2","pad":"');
    s.write(chunked ? Buffer.concat([Buffer.from(`${send.toString(16)}\r\n`), body, Buffer.from('\r\n')]) : body);
  }
  return { socket: s, text: () => text, closed: () => closed };
}

async function until(what: string | (() => string), cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function chat(key: string): Promise<{ status: number; retryAfter: unknown; text: string }> {
  const res = await request(`${stack.w.url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2', messages: [], stream: false }),
    dispatcher: stack.w.dispatcher,
  });
  return { status: res.statusCode, retryAfter: res.headers['retry-after'], text: await res.body.text() };
}

describe('unfinished bodies cannot exhaust memory', () => {
  it("a --concurrency 1 --rpm 5 key's 24 unfinished 29 MiB bodies: one is read, the rest refused unread (429, closed)", async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'one-slot', '--concurrency', '1', '--rpm', '5']);
    const before = rssBytes(stack.w.proc.pid!);
    const first = await holdBody(k.key, 29 * MIB, 4 * MIB);
    await waitForSlotTaken(k.key);
    const rest: Held[] = [];
    for (let i = 0; i < 23; i++) rest.push(await holdBody(k.key, 29 * MIB, 4 * MIB));
    try {
      // Each is answered 429 and its connection closed unread (the client, still sending, may see
      // a reset instead of the answer: the audit log is the record).
      await until('every body but the first refused and closed', () => rest.every((h) => h.closed()));
      const refusals = (): unknown[] => auditLines(stack.w).filter((l) => l.keyId === k.id && l.path === '/api/chat' && l.status === 429 && /over the key's/.test(l.reason ?? ''));
      await until(() => `23 refusals audited; got ${refusals().length}: ${JSON.stringify(rest.map((h) => h.text().slice(0, 12)))}`, () => refusals().length === 23);
      const grown = rssBytes(stack.w.proc.pid!) - before;
      // 24 × 4 MiB were sent; only the first body's share may stay (plus socket buffers and noise).
      assert.ok(grown < 48 * MIB, `RSS grew by ${Math.round(grown / MIB)} MiB`);
      assert.equal(first.closed(), false, 'the one admitted body is still being read');
    } finally {
      first.socket.destroy();
      for (const h of rest) h.socket.destroy();
    }
  });

  it('bodies of keys without limits share limits.bodyMemoryBytes: past it 503 + Retry-After, and closing sockets gives the memory back', async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'unlimited']);
    // two 32 MiB bodies take the whole 64 MiB budget (reserved on their Content-Length)
    const a = await holdBody(k.key, 32 * MIB, 1024);
    const b = await holdBody(k.key, 32 * MIB, 1024);
    // the two reservations are made as their heads arrive: poll until both are in
    const deadline = Date.now() + 10_000;
    let refused: Awaited<ReturnType<typeof chat>>;
    do {
      refused = await chat(k.key);
    } while (refused.status !== 503 && Date.now() < deadline);
    assert.equal(refused.status, 503, refused.text);
    assert.match(String(refused.retryAfter), /^[1-9]\d*$/);
    assert.match(refused.text, /busy/);
    await waitForAudit(stack.w, (l) => l.status === 503 && /bodyMemoryBytes/.test(l.reason ?? ''));

    // a chunked body is charged as it arrives, so it is refused too
    const c = await holdBody(k.key, 0, 8 * 1024, true);
    await until('the chunked body is refused', () => c.closed());
    assert.match(c.text(), /^HTTP\/1\.1 503 /);

    a.socket.destroy();
    b.socket.destroy();
    let served = await chat(k.key);
    const back = Date.now() + 10_000;
    while (served.status === 503 && Date.now() < back) served = await chat(k.key);
    assert.equal(served.status, 200, `after the sockets closed: ${served.status} ${served.text}`);
  });
});

/** Polls until a probe with the key is refused for concurrency (the held body took the slot). */
async function waitForSlotTaken(key: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: stack.w.dispatcher });
    await res.body.text();
    if (res.statusCode === 429) return;
    assert.ok(Date.now() < deadline, 'the held body never took the slot');
    await new Promise((r) => setTimeout(r, 20));
  }
}
