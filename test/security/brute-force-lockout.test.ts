// Online key guessing (credential stuffing, brute force; OWASP ASVS 2.2.1): after repeated failed
// authentications from one address within the window, that address's failures get 429 with
// Retry-After for the cool-down, held back in a tarpit past a small burst. A valid key from that
// address is still served (a 196-bit secret cannot be guessed; the lockout must not punish a
// shared NAT), and other addresses are unaffected. X-Forwarded-For is believed only from configured proxies, so rotating a
// spoofed header does not reset the count. Client addresses come from binding the client side
// to different loopback addresses (127.0.0.0/8 is all local on Linux).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, runCli, type RunningWarden } from '../helpers/warden.ts';
import { assertStillServes, auditLines, collect, head, openTls, waitForAudit } from './helpers.ts';

const FAILURES = 5;
// Long enough that no test here outlives the lockout, and a tarpit pause far above any answer
// time on a loaded machine, so "held" and "at once" cannot be confused (no tight timing asserts).
const LOCKOUT_SECONDS = 120;
const TARPIT_MS = 2500;
const TARPIT_BURST = 2;
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
  it('locks an address out with 429 + Retry-After after repeated wrong keys (brute force)', async () => {
    const attacker = from('127.0.0.2');
    for (let i = 0; i < FAILURES; i++) assert.equal((await hit(attacker, guess(i))).status, 401, `guess ${i}`);
    const before = fake.requests.length;
    const locked = await hit(attacker, guess(100));
    assert.equal(locked.status, 429, 'the next guess from a locked-out address is refused with 429');
    assert.ok(Number(locked.retryAfter) >= 1 && Number(locked.retryAfter) <= LOCKOUT_SECONDS, `Retry-After ${locked.retryAfter}`);
    assert.equal(typeof (JSON.parse(locked.body) as { error?: unknown }).error, 'string');
    assert.equal(fake.requests.length, before, 'a locked-out request reached Ollama');
  });

  it('still serves a valid key from the locked-out address (a shared NAT is not punished)', async () => {
    assert.equal((await hit(from('127.0.0.2'), w.adminKey)).status, 200);
    assert.equal((await hit(from('127.0.0.2'), guess(101))).status, 429, 'a success does not end the lockout');
  });

  it('leaves other addresses and valid keys alone while one address is locked out', async () => {
    assert.equal((await hit(from('127.0.0.3'), w.adminKey)).status, 200);
    assert.equal((await hit(from('127.0.0.3'), guess(99))).status, 401, 'another address gets 401, not 429');
    await assertStillServes(w, fake);
  });

  it('answers a locked-out client that retries now and then at once (within the burst)', async () => {
    const attacker = from('127.0.0.2');
    // the burst refills at TARPIT_BURST per second: after a pause it is full again
    await new Promise((r) => setTimeout(r, 1100));
    const t0 = performance.now();
    for (let i = 0; i < TARPIT_BURST; i++) assert.equal((await hit(attacker, guess(900 + i))).status, 429);
    assert.ok(performance.now() - t0 < TARPIT_MS, `${TARPIT_BURST} sequential locked-out requests took ${Math.round(performance.now() - t0)} ms: held in the tarpit`);
  });

  it('tarpits a flood from a locked-out address: every attempt gets 429, at most one per connection per pause', async () => {
    const attacker = from('127.0.0.2');
    const before = fake.requests.length;
    const t0 = performance.now();
    // 24 attempts over the agent's 8 connections: past the burst (2, refilled at 2 per second)
    // most of them are held TARPIT_MS each, so the flood takes at least one pause.
    const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => hit(attacker, guess(1000 + i)).then((r) => r.status)));
    const ms = performance.now() - t0;
    assert.ok(statuses.every((s) => s === 429), `statuses: ${[...new Set(statuses)].join(',')}`);
    assert.ok(ms >= TARPIT_MS, `24 locked-out requests over 8 connections took only ${Math.round(ms)} ms: answered without the tarpit`);
    assert.equal(fake.requests.length, before, 'a locked-out request reached Ollama');
    // Nobody else waits: the pause is a timer, not a blocked server.
    const t1 = performance.now();
    assert.equal((await hit(from('127.0.0.3'), w.adminKey)).status, 200);
    assert.ok(performance.now() - t1 < TARPIT_MS, 'another address was slowed down by the tarpit');
  });

  it('closes a connection that pipelines requests behind a held 429 (tarpit evasion by pipelining)', async () => {
    const s = await openTls(w, { localAddress: '127.0.0.2' });
    const result = collect(s, TARPIT_MS + 6000);
    const one = head('GET /api/version HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${guess(5000)}`);
    // more than the burst could answer at once, so one is held and the next one behind it is pipelined
    s.write(one.repeat(2 * TARPIT_BURST + 2));
    const r = await result;
    assert.ok(r.closed, 'the server kept a pipelining locked-out connection open');
    assert.ok(r.elapsedMs < TARPIT_MS + 5000, `closed after ${r.elapsedMs} ms`);
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

  it('`warden lockout list` shows the locked-out address and `warden lockout clear` lets it back in', async () => {
    const list = await runCli(['lockout', 'list', '--json'], { dataDir: w.dataDir });
    assert.equal(list.code, 0, list.stderr);
    const locked = JSON.parse(list.stdout) as Array<{ address: string; lockedForSeconds: number }>;
    const entry = locked.find((l) => l.address === '127.0.0.2');
    assert.ok(entry && entry.lockedForSeconds > 0 && entry.lockedForSeconds <= LOCKOUT_SECONDS, list.stdout);
    const clear = await runCli(['lockout', 'clear', '127.0.0.2'], { dataDir: w.dataDir });
    assert.equal(clear.code, 0, clear.stderr);
    assert.match(clear.stdout, /127\.0\.0\.2: lockout cleared/);
    assert.equal((await hit(from('127.0.0.2'), guess(7000))).status, 401, 'a cleared address gets 401 again, not 429');
    await waitForAudit(w, (l) => l.kind === 'lockout.clear' && /127\.0\.0\.2: cleared/.test(l.reason ?? ''));
    const bad = await runCli(['lockout', 'clear', 'not-an-address'], { dataDir: w.dataDir });
    assert.equal(bad.code, 2, 'a malformed address is a usage error');
    assert.match(bad.stderr, /address/);
  });
});

describe('X-Forwarded-For', () => {
  it('ignores X-Forwarded-For from an address that is not a trusted proxy (lockout evasion by header rotation)', async () => {
    const attacker = from('127.0.0.5');
    for (let i = 0; i < FAILURES; i++) {
      const r = await hit(attacker, guess(2000 + i), { 'x-forwarded-for': `198.51.100.${i + 1}` });
      assert.equal(r.status, 401);
    }
    const r = await hit(attacker, guess(2100), { 'x-forwarded-for': '198.51.100.200' });
    assert.equal(r.status, 429, 'rotating a spoofed X-Forwarded-For escaped the lockout');
  });

  it('counts failures per forwarded client when the request comes from a trusted proxy', async () => {
    const proxy = from(PROXY);
    for (let i = 0; i < FAILURES; i++) {
      assert.equal((await hit(proxy, guess(3000 + i), { 'x-forwarded-for': '203.0.113.7' })).status, 401);
    }
    assert.equal((await hit(proxy, guess(3100), { 'x-forwarded-for': '203.0.113.7' })).status, 429, 'the forwarded client is locked out');
    assert.equal((await hit(proxy, guess(3101), { 'x-forwarded-for': '203.0.113.8' })).status, 401, 'another client behind the same proxy is not');
    // A client cannot prepend a fake hop to escape: the right-most untrusted hop counts.
    assert.equal((await hit(proxy, guess(3102), { 'x-forwarded-for': '192.0.2.1, 203.0.113.7' })).status, 429);
    const audited = auditLines(w).some((l) => l.clientAddress === '203.0.113.7');
    assert.ok(audited || (await waitForAudit(w, (l) => l.clientAddress === '203.0.113.7')), 'the audit log records the forwarded client address');
  });
});

describe('IPv6 clients are one client per /64', () => {
  it('rotating the interface id behind a trusted proxy does not escape the lockout; lockout list/clear name the /64', async () => {
    const proxy = from(PROXY);
    for (let i = 0; i < FAILURES; i++) {
      assert.equal((await hit(proxy, guess(4000 + i), { 'x-forwarded-for': `2001:db8:1:2::${(i + 1).toString(16)}` })).status, 401);
    }
    assert.equal((await hit(proxy, guess(4100), { 'x-forwarded-for': '2001:db8:1:2:ffff::9' })).status, 429, 'another address in the same /64 is locked out');
    assert.equal((await hit(proxy, guess(4101), { 'x-forwarded-for': '2001:db8:1:3::1' })).status, 401, 'the next /64 is another client');
    const list = await runCli(['lockout', 'list'], { dataDir: w.dataDir });
    assert.match(list.stdout, /^2001:db8:1:2::\/64 {2}locked for \d+ s more/m);
    const clear = await runCli(['lockout', 'clear', '2001:db8:1:2::/64'], { dataDir: w.dataDir });
    assert.equal(clear.code, 0, clear.stderr);
    assert.equal((await hit(proxy, guess(4102), { 'x-forwarded-for': '2001:db8:1:2::77' })).status, 401);
  });
});

describe('a client still using an old secret', () => {
  it('is audited as a stale secret of its key and does not lock its address out (rotated, then revoked)', async () => {
    const created = await runCli(['keys', 'create', '--json', '--name', 'forgotten-script'], { dataDir: w.dataDir });
    assert.equal(created.code, 0, created.stderr);
    const k = JSON.parse(created.stdout) as { id: string; key: string };
    const rotated = await runCli(['keys', 'rotate', k.id, '--grace', '0s', '--json'], { dataDir: w.dataDir });
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = (JSON.parse(rotated.stdout) as { key: string }).key;
    const script = from('127.0.0.7');
    // the server sees the rotation once its key cache has polled: until then the old secret works
    const deadline = Date.now() + 10_000;
    while ((await hit(script, k.key)).status === 200) assert.ok(Date.now() < deadline, 'the rotation never reached the server');
    for (let i = 0; i < FAILURES * 2; i++) assert.equal((await hit(script, k.key)).status, 401, `old secret, attempt ${i + 1}`);
    const line = await waitForAudit(w, (l) => l.keyId === k.id && l.status === 401);
    assert.match(line.reason ?? '', new RegExp(`stale secret of ${k.id}`));
    assert.equal((await hit(script, guess(6000))).status, 401, 'the address is not locked out by a stale secret');
    assert.equal((await hit(script, fresh)).status, 200);

    const revoked = await runCli(['keys', 'revoke', k.id], { dataDir: w.dataDir });
    assert.equal(revoked.code, 0, revoked.stderr);
    const other = from('127.0.0.8');
    const until = Date.now() + 10_000;
    while ((await hit(other, fresh)).status === 200) assert.ok(Date.now() < until, 'the revocation never reached the server');
    for (let i = 0; i < FAILURES * 2; i++) assert.equal((await hit(other, fresh)).status, 401);
    await waitForAudit(w, (l) => l.keyId === k.id && /stale secret of .*key revoked/.test(l.reason ?? ''));
    assert.equal((await hit(other, guess(6001))).status, 401, 'a revoked key\'s own secret does not lock its address out');
  });
});
