// Slow clients (docs/design.md §3): slowloris (headers a byte at a time), slow body (R.U.D.Y.), slow read
// (a client that never drains its TCP window), a TLS handshake that never finishes, and one
// address opening every socket. Each is cut off in bounded time while a normal client keeps
// getting answers. Raw sockets stand in for slowhttptest; the timeouts are shortened through
// the environment (WARDEN_LIMITS_*) so the suite runs in seconds, not minutes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { request } from 'undici';
import { withWarden, startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { assertStillServes, head, openTls, waitForAudit } from './helpers.ts';

const HEADERS_TIMEOUT = 2;
const BODY_TIMEOUT = 2;
const SLOW_READ = 2;
const MAX_CONNS = 6;
const sockets: Array<{ destroy(): void }> = [];
const timers: NodeJS.Timeout[] = [];

// registered before the fixture's, so it runs first: the slow sockets go before the server stops
after(() => {
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
});

const stack = withWarden({
  ollama: { chunks: 2, delayMs: 0 },
  env: {
    WARDEN_LIMITS_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT),
    WARDEN_LIMITS_REQUEST_TIMEOUT_SECONDS: String(BODY_TIMEOUT),
    WARDEN_LIMITS_SLOW_READ_SECONDS: String(SLOW_READ),
    WARDEN_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: String(MAX_CONNS),
  },
});

/** Resolves with the milliseconds until the server closed `s` (or rejects after maxMs). */
function closedWithin(s: TLSSocket, maxMs: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    s.on('error', () => undefined);
    s.resume(); // read (and drop) whatever the server says, so its FIN is seen
    const timer = setTimeout(() => reject(new Error(`still open after ${maxMs} ms`)), maxMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

/** Sends `bytes` one at a time, one every `everyMs`, until the socket closes. */
function trickle(s: TLSSocket, bytes: string, everyMs: number): void {
  let i = 0;
  const t = setInterval(() => {
    if (s.destroyed || i >= bytes.length) return clearInterval(t);
    s.write(bytes[i++]!);
  }, everyMs);
  timers.push(t);
}

async function normalRequestsSucceed(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${stack.w.adminKey}` }, dispatcher: stack.w.dispatcher });
    assert.equal(res.statusCode, 200, 'a normal client was starved during the attack');
    await res.body.text();
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('slow clients are cut off in bounded time', () => {
  it('cuts slowloris connections (headers a byte at a time) after the header timeout while others are served', async () => {
    const attackers = await Promise.all(Array.from({ length: 4 }, () => openTls(stack.w, { localAddress: '127.0.0.2' })));
    sockets.push(...attackers);
    const headBytes = head('GET /api/version HTTP/1.1', `Host: 127.0.0.1:${stack.w.port}`, `Authorization: Bearer ${stack.w.adminKey}`, ...Array.from({ length: 50 }, (_, i) => `X-Slow-${i}: ${'z'.repeat(20)}`));
    const closes = attackers.map((s) => closedWithin(s, (HEADERS_TIMEOUT + 4) * 1000));
    for (const s of attackers) trickle(s, headBytes, 200);
    await normalRequestsSucceed(4);
    const times = await Promise.all(closes);
    for (const ms of times) assert.ok(ms >= (HEADERS_TIMEOUT - 0.5) * 1000, `closed after ${ms} ms: too early for a header timeout`);
    assert.equal(stack.fake.requests.filter((r) => r.headers['x-slow-0'] !== undefined).length, 0);
  });

  it('cuts a slow body (R.U.D.Y.) after the body timeout with 408 and forwards nothing', async () => {
    const before = stack.fake.requests.length;
    const s = await openTls(stack.w, { localAddress: '127.0.0.2' });
    sockets.push(s);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = closedWithin(s, (BODY_TIMEOUT + 4) * 1000);
    const body = JSON.stringify({ model: 'llama3.2', prompt: 'x'.repeat(500) });
    s.write(head('POST /api/generate HTTP/1.1', `Host: 127.0.0.1:${stack.w.port}`, `Authorization: Bearer ${stack.w.adminKey}`, 'Content-Type: application/json', `Content-Length: ${body.length}`));
    trickle(s, body, 200);
    await normalRequestsSucceed(2);
    await closed;
    assert.match(answer, /^HTTP\/1\.1 408 /, `got: ${answer.slice(0, 200)}`);
    assert.equal(stack.fake.requests.length - before, 2, 'only the two normal requests reached Ollama');
  });

  it('cuts a slow reader (never drains its window) after limits.slowReadSeconds and cancels the upstream stream', async () => {
    const s = await openTls(stack.w, { localAddress: '127.0.0.2' });
    sockets.push(s);
    const body = JSON.stringify({ model: 'llama3.2', prompt: 'slow-read' });
    // ~60 MB of answer: far more than the socket buffers on both sides hold.
    s.write(head('POST /api/generate HTTP/1.1', `Host: 127.0.0.1:${stack.w.port}`, `Authorization: Bearer ${stack.w.adminKey}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'X-Fake-Chunks: 3000', 'X-Fake-Pad-Bytes: 20000', 'X-Fake-Delay-Ms: 0') + body);
    s.pause(); // and never read
    const upstream = await new Promise<{ aborted: boolean }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the upstream stream was not cancelled in time')), (SLOW_READ + 6) * 1000);
      const onAborted = (rec: { body: Buffer; aborted: boolean }): void => {
        if (!rec.body.toString().includes('slow-read')) return;
        clearTimeout(t);
        stack.fake.events.off('aborted', onAborted);
        resolve(rec);
      };
      stack.fake.events.on('aborted', onAborted);
    });
    assert.equal(upstream.aborted, true);
    const line = await waitForAudit(stack.w, (l) => (l.reason ?? '').includes('stopped reading'));
    assert.equal(line.clientAddress, '127.0.0.2');
    s.destroy();
    await assertStillServes(stack.w, stack.fake);
  });

  it('cuts a TLS handshake that never starts (slowloris at the TLS layer) within the 10 s handshake timeout', async () => {
    const raw = netConnect({ host: '127.0.0.1', port: stack.w.port, localAddress: '127.0.0.4' });
    sockets.push(raw);
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      raw.on('error', () => undefined);
      const t = setTimeout(() => reject(new Error('a silent TCP connection was kept open past 13 s')), 13_000);
      raw.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      raw.resume();
    });
    assert.ok(Date.now() - t0 <= 13_000);
  });
});

describe('per-address connection cap', () => {
  it(`refuses connection ${MAX_CONNS + 1} from one address (socket exhaustion) while other addresses connect`, async () => {
    const held: TLSSocket[] = [];
    for (let i = 0; i < MAX_CONNS; i++) held.push(await openTls(stack.w, { localAddress: '127.0.0.3' }));
    sockets.push(...held);
    const extra = await openTls(stack.w, { localAddress: '127.0.0.3' }).then(
      (s) =>
        new Promise<boolean>((resolve) => {
          sockets.push(s);
          s.on('error', () => undefined);
          s.once('close', () => resolve(true));
          s.resume();
          setTimeout(() => resolve(false), 1000);
        }),
      () => true, // refused during the handshake
    );
    assert.equal(extra, true, `connection ${MAX_CONNS + 1} from one address was kept`);
    // another address is not affected
    await assertStillServes(stack.w, stack.fake);
    const line = await waitForAudit(stack.w, (l) => l.kind === 'connection.refused' && l.clientAddress === '127.0.0.3');
    assert.match(line.reason ?? '', /too many connections/);
    // closing one frees a slot
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await openTls(stack.w, { localAddress: '127.0.0.3' });
    sockets.push(again);
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      again.on('data', (d: Buffer) => (text += d.toString()));
      again.once('close', () => resolve(text));
      again.on('error', () => undefined);
      again.write(head('GET /api/version HTTP/1.1', `Host: 127.0.0.1:${stack.w.port}`, `Authorization: Bearer ${stack.w.adminKey}`, 'Connection: close'));
    });
    assert.match(answer, /^HTTP\/1\.1 200 /);
    for (const s of held) s.destroy();
  });
});

// Issue 15 item 9: with the default limits (headersTimeoutSeconds 10), 150 slow connections of
// every kind — a TLS session that never sends a request, headers that stop halfway, a second
// request on a kept-alive connection that stops halfway, a TCP connection that never starts TLS —
// are all gone within 12 s of their last byte, while a normal client is served throughout.
describe('slowloris at scale, default limits', () => {
  let w10: RunningWarden;
  const held: Array<{ destroy(): void }> = [];
  before(async () => {
    w10 = await startWarden({ upstream: stack.fake.url });
  });
  after(async () => {
    for (const s of held) s.destroy();
    await w10?.stop();
    if (w10) removeDir(w10.dataDir);
  });

  it('cuts 150 slow connections within 12 s of their last byte while a normal client is served', async () => {
    const addresses = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
    type Slow = { kind: string; lastByte: number; closedAt: Promise<number> };
    const slow: Slow[] = [];
    const watch = (s: { once(e: 'close', f: () => void): unknown; on(e: 'error', f: () => void): unknown; resume(): unknown }): Promise<number> =>
      new Promise((resolve) => {
        s.on('error', () => undefined);
        s.resume();
        s.once('close', () => resolve(Date.now()));
      });
    const partial = head('POST /api/generate HTTP/1.1', `Host: 127.0.0.1:${w10.port}`, `Authorization: Bearer ${w10.adminKey}`).slice(0, -30);
    const opened: Array<Promise<void>> = [];
    for (let i = 0; i < 150; i++) {
      const localAddress = addresses[i % addresses.length]!;
      const kind = ['idle after TLS', 'headers stop halfway', 'second request stops halfway', 'no TLS handshake'][i % 4]!;
      opened.push(
        (async () => {
          if (kind === 'no TLS handshake') {
            const raw = netConnect({ host: '127.0.0.1', port: w10.port, localAddress });
            held.push(raw);
            slow.push({ kind, lastByte: Date.now(), closedAt: watch(raw) });
            return;
          }
          const s = await openTls(w10, { localAddress });
          held.push(s);
          if (kind === 'second request stops halfway') {
            const first = new Promise<void>((resolve) => {
              let text = '';
              const onData = (d: Buffer): void => {
                text += d.toString();
                if (/\r\n\r\n[\s\S]*\}/.test(text)) {
                  s.off('data', onData);
                  resolve();
                }
              };
              s.on('data', onData);
            });
            s.write(head('GET /api/version HTTP/1.1', `Host: 127.0.0.1:${w10.port}`, `Authorization: Bearer ${w10.adminKey}`));
            await first;
          }
          if (kind !== 'idle after TLS') s.write(partial);
          slow.push({ kind, lastByte: Date.now(), closedAt: watch(s) });
        })(),
      );
    }
    await Promise.all(opened);
    await normalRequestsSucceedOn(w10, 6);
    const late: string[] = [];
    await Promise.all(
      slow.map(async (c) => {
        const closedAt = await Promise.race([c.closedAt, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 20_000))]);
        const after = closedAt - c.lastByte;
        if (after > 12_000) late.push(`${c.kind}: ${Number.isFinite(after) ? `${after} ms` : 'still open'}`);
      }),
    );
    assert.deepEqual(late, [], `connections outlived 12 s after their last byte:\n${late.slice(0, 10).join('\n')}`);
    await normalRequestsSucceedOn(w10, 1);
  });
});

async function normalRequestsSucceedOn(target: RunningWarden, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`${target.url}/api/version`, { headers: { authorization: `Bearer ${target.adminKey}` }, dispatcher: target.dispatcher });
    assert.equal(res.statusCode, 200, 'a normal client was starved during the attack');
    await res.body.text();
    await new Promise((r) => setTimeout(r, 300));
  }
}
