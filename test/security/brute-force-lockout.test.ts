// Online key guessing (credential stuffing, brute force; OWASP ASVS 2.2.1): after repeated failed
// authentications from one address within the window, that address gets 429 with Retry-After
// for the cool-down — even with a valid key — while other addresses and valid keys elsewhere
// are unaffected. X-Forwarded-For is believed only from configured proxies, so rotating a
// spoofed header does not reset the count. Client addresses come from binding the client side
// to different loopback addresses (127.0.0.0/8 is all local on Linux).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { assertStillServes, auditLines, collect, head, openTls, waitForAudit } from './helpers.ts';

const FAILURES = 5;
const LOCKOUT_SECONDS = 4;
const TARPIT_MS = 300;
const TARPIT_BURST = 5;
const PROXY = '127.0.0.4';
let fake: FakeOllama;
let w: RunningWarden;
const agents = new Map<string, Agent>();

before(async () => {
  fake = await startFakeOllama({ chunks: 2, delayMs: 0 });
  w = await startWarden({
    upstream: fake.url,
    env: {
      WARDEN_SECURITY_LOCKOUT_FAILURES: String(FAILURES),
      WARDEN_SECURITY_LOCKOUT_WINDOW_SECONDS: '60',
      WARDEN_SECURITY_LOCKOUT_SECONDS: String(LOCKOUT_SECONDS),
      WARDEN_SECURITY_LOCKOUT_TARPIT_MS: String(TARPIT_MS),
      WARDEN_SECURITY_LOCKOUT_TARPIT_BURST: String(TARPIT_BURST),
      WARDEN_SECURITY_TRUSTED_PROXIES: PROXY,
    },
  });
});

after(async () => {
  for (const a of agents.values()) await a.close().catch(() => undefined);
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

/** An HTTP client whose connections come from `address` (a few keep-alive connections, well
 *  under limits.maxConnectionsPerAddress, so the per-address connection cap stays out of it). */
function from(address: string): Agent {
  let a = agents.get(address);
  if (!a) agents.set(address, (a = new Agent({ connect: { ca: w.caPem }, localAddress: address, connections: 8 })));
  return a;
}

async function hit(agent: Agent, key: string | null, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  const res = await request(`${w.url}/api/version`, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers }, dispatcher: agent });
  const ra = res.headers['retry-after'];
  return { status: res.statusCode, retryAfter: typeof ra === 'string' ? ra : undefined, body: await res.body.text() };
}

/** A well-formed Warden key (right checksum shape) that exists nowhere. */
function guess(i: number): string {
  return w.adminKey.replace(/_([0-9A-Za-z]{16})_/, `_${String(i).padStart(16, 'Q')}_`);
}

describe('failed-authentication lockout per client address', () => {
  it('locks an address out with 429 + Retry-After after repeated wrong keys, even for a valid key (brute force)', async () => {
    const attacker = from('127.0.0.2');
    for (let i = 0; i < FAILURES; i++) assert.equal((await hit(attacker, guess(i))).status, 401, `guess ${i}`);
    const before = fake.requests.length;
    const locked = await hit(attacker, w.adminKey);
    assert.equal(locked.status, 429, 'a valid key from a locked-out address must not get through');
    assert.ok(Number(locked.retryAfter) >= 1 && Number(locked.retryAfter) <= LOCKOUT_SECONDS, `Retry-After ${locked.retryAfter}`);
    assert.equal(typeof (JSON.parse(locked.body) as { error?: unknown }).error, 'string');
    assert.equal(fake.requests.length, before, 'a locked-out request reached Ollama');
  });

  it('leaves other addresses and valid keys alone while one address is locked out', async () => {
    assert.equal((await hit(from('127.0.0.3'), w.adminKey)).status, 200);
    assert.equal((await hit(from('127.0.0.3'), guess(99))).status, 401, 'another address gets 401, not 429');
    await assertStillServes(w, fake);
  });

  it('answers a locked-out client that retries now and then at once (within the burst)', async () => {
    const attacker = from('127.0.0.2');
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) assert.equal((await hit(attacker, guess(900 + i))).status, 429);
    assert.ok(performance.now() - t0 < TARPIT_MS, `3 sequential locked-out requests took ${Math.round(performance.now() - t0)} ms`);
  });

  it('tarpits a flood from a locked-out address: every attempt gets 429, at most one per connection per pause', async () => {
    const attacker = from('127.0.0.2');
    const before = fake.requests.length;
    const t0 = performance.now();
    // 40 attempts over the agent's 8 connections. Within 0.9 s at most 5 + 5 × 0.9 of them could
    // be answered at once (the burst and its refill), so 30 or more wait TARPIT_MS each, four or
    // more in a row on some connection: at least 1.2 s in all.
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => hit(attacker, guess(1000 + i)).then((r) => r.status)));
    const ms = performance.now() - t0;
    assert.ok(statuses.every((s) => s === 429), `statuses: ${[...new Set(statuses)].join(',')}`);
    assert.ok(ms >= 3 * TARPIT_MS, `40 locked-out requests over 8 connections took only ${Math.round(ms)} ms: answered without the tarpit`);
    assert.equal(fake.requests.length, before, 'a locked-out request reached Ollama');
    // Nobody else waits: the pause is a timer, not a blocked server.
    const t1 = performance.now();
    assert.equal((await hit(from('127.0.0.3'), w.adminKey)).status, 200);
    assert.ok(performance.now() - t1 < TARPIT_MS, 'another address was slowed down by the tarpit');
  });

  it('closes a connection that pipelines requests behind a held 429 (tarpit evasion by pipelining)', async () => {
    const s = await openTls(w, { localAddress: '127.0.0.2' });
    const result = collect(s, 3000);
    const one = head('GET /api/version HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${guess(5000)}`);
    // more than the burst could answer at once, so one is held and the next one behind it is pipelined
    s.write(one.repeat(2 * TARPIT_BURST + 2));
    const r = await result;
    assert.ok(r.closed, 'the server kept a pipelining locked-out connection open');
    assert.ok(r.elapsedMs < TARPIT_MS + 1500, `closed after ${r.elapsedMs} ms`);
    await waitForAudit(w, (l) => l.status === 429 && /pipelined/.test(l.reason ?? ''));
  });

  it('audits each lockout refusal with its address', async () => {
    const line = await waitForAudit(w, (l) => l.status === 429 && l.clientAddress === '127.0.0.2');
    assert.match(line.reason ?? '', /lock/i);
  });

  it('does not count requests without any credentials (a client probing before it sends its key)', async () => {
    const prober = from('127.0.0.6');
    for (let i = 0; i < FAILURES * 2; i++) assert.equal((await hit(prober, null)).status, 401);
    assert.equal((await hit(prober, w.adminKey)).status, 200);
  });

  it('lets the address back in after the cool-down', async () => {
    await new Promise((r) => setTimeout(r, LOCKOUT_SECONDS * 1000 + 200));
    assert.equal((await hit(from('127.0.0.2'), w.adminKey)).status, 200);
  });
});

describe('X-Forwarded-For', () => {
  it('ignores X-Forwarded-For from an address that is not a trusted proxy (lockout evasion by header rotation)', async () => {
    const attacker = from('127.0.0.5');
    for (let i = 0; i < FAILURES; i++) {
      const r = await hit(attacker, guess(2000 + i), { 'x-forwarded-for': `198.51.100.${i + 1}` });
      assert.equal(r.status, 401);
    }
    const r = await hit(attacker, w.adminKey, { 'x-forwarded-for': '198.51.100.200' });
    assert.equal(r.status, 429, 'rotating a spoofed X-Forwarded-For escaped the lockout');
  });

  it('counts failures per forwarded client when the request comes from a trusted proxy', async () => {
    const proxy = from(PROXY);
    for (let i = 0; i < FAILURES; i++) {
      assert.equal((await hit(proxy, guess(3000 + i), { 'x-forwarded-for': '203.0.113.7' })).status, 401);
    }
    assert.equal((await hit(proxy, w.adminKey, { 'x-forwarded-for': '203.0.113.7' })).status, 429, 'the forwarded client is locked out');
    assert.equal((await hit(proxy, w.adminKey, { 'x-forwarded-for': '203.0.113.8' })).status, 200, 'another client behind the same proxy is not');
    // A client cannot prepend a fake hop to escape: the right-most untrusted hop counts.
    assert.equal((await hit(proxy, w.adminKey, { 'x-forwarded-for': '192.0.2.1, 203.0.113.7' })).status, 429);
    const audited = auditLines(w).some((l) => l.clientAddress === '203.0.113.7');
    assert.ok(audited || (await waitForAudit(w, (l) => l.clientAddress === '203.0.113.7')), 'the audit log records the forwarded client address');
  });
});
