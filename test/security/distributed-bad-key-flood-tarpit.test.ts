// Attack: flood the gateway with bad keys from many addresses — a botnet, or many clients behind
// a trusted reverse proxy — so that no address ever fails twice, the per-address lockout and its
// tarpit never engage, and every attempt costs a full TLS answer. Valid traffic then loses a
// large share of the CPU (bench workload e-dist: 41 % of its throughput on 2026-12-06).
//
// What must hold: past a burst of failures per second from all addresses together, each further
// refusal is held the tarpit pause before its 401; a valid key is served promptly all the while
// (also through the same proxy); a client making a few mistakes when no flood runs, and a client
// without any key during a bad-key flood, are answered at once; a request pipelined behind a held
// refusal closes its connection; every refusal is still counted; shutdown answers the held ones
// at once instead of waiting out their pause.
//
// All traffic goes to 127.0.0.1. The "proxy" is the client side bound to 127.0.0.5, which
// security.trustedProxies believes, so each request's X-Forwarded-For is its client address.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { generateKey } from '../../src/auth/key-format.ts';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { auditLines, collect, head, openTls, refusalsCounted, waitForAudit, type AuditLine } from './helpers.ts';
import { poll } from '../helpers/poll.ts';

// A pause far above any answer time on a loaded machine, so "held" and "answered at once" cannot
// be confused; a small burst, so a few dozen requests are a flood.
const TARPIT_MS = 2500;
const BURST = 4;
const PROXY = '127.0.0.5';
const SUMMARY = /^(\d+) more refusals from (\S+) until (\S+): (.*)$/s;

let fake: FakeOllama;
let w: RunningWarden;
const agents: Agent[] = [];

function agent(localAddress: string, connections: number): Agent {
  const a = new Agent({ connect: { ca: w.caPem }, localAddress, connections });
  agents.push(a);
  return a;
}

before(async () => {
  fake = await startFakeOllama({ chunks: 1, delayMs: 0 });
  w = await startWarden({
    upstream: fake.url,
    env: {
      WARDEN_SECURITY_LOCKOUT_TARPIT_MS: String(TARPIT_MS),
      WARDEN_SECURITY_FLOOD_TARPIT_BURST: String(BURST),
      WARDEN_SECURITY_TRUSTED_PROXIES: PROXY,
    },
  });
});

after(async () => {
  for (const a of agents) await a.close().catch(() => undefined);
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

/** A new client address per attempt, all in 10.66.0.0/16 (audit groups them per /24). */
let nextAddress = 0;
function botAddress(): string {
  const n = nextAddress++;
  return `10.66.${Math.floor(n / 250) % 250}.${1 + (n % 250)}`;
}

/** The kinds of wrong key a flood sends: not a key, a bad checksum, a well-formed unknown key. */
function badKey(i: number): string {
  const k = generateKey().key;
  if (i % 3 === 0) return `not-a-key-${i}`;
  if (i % 3 === 1) return k.slice(0, -1) + (k.endsWith('A') ? 'B' : 'A');
  return k;
}

interface Answer {
  status: number;
  ms: number;
}

async function hit(dispatcher: Agent, key: string | null, xff?: string): Promise<Answer> {
  const t0 = performance.now();
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (xff) headers['x-forwarded-for'] = xff;
  const res = await request(`${w.url}/api/version`, { headers, dispatcher });
  await res.body.text();
  return { status: res.statusCode, ms: performance.now() - t0 };
}

/** `rounds` requests on each of `connections` keep-alive connections through the proxy, each from a new address. */
async function flood(connections: number, rounds: number, key: (i: number) => string | null): Promise<{ answers: Answer[]; ms: number }> {
  const via = agent(PROXY, connections);
  const t0 = performance.now();
  let i = 0;
  const answers = (
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const mine: Answer[] = [];
        for (let r = 0; r < rounds; r++) mine.push(await hit(via, key(i++), botAddress()));
        return mine;
      }),
    )
  ).flat();
  return { answers, ms: performance.now() - t0 };
}

const held = (answers: Answer[]): number => answers.filter((a) => a.ms >= TARPIT_MS * 0.9).length;

/** 401s from the flood's addresses in the audit file: individual lines plus summary counts. */
function auditedBotRefusals(lines: AuditLine[]): number {
  let n = 0;
  for (const l of lines) {
    if (!l.clientAddress?.startsWith('10.66.')) continue;
    if (l.kind === 'request' && l.status === 401) n++;
    else if (l.kind === 'request.refused_summary' && l.status === 401) n += Number(SUMMARY.exec(l.reason ?? '')?.[1] ?? 'NaN');
  }
  return n;
}

describe('a bad-key flood from many addresses is tarpitted server-wide', () => {
  it('answers a client making a few mistakes at once while no flood runs', async () => {
    const via = agent(PROXY, 1);
    for (let i = 0; i < BURST - 1; i++) {
      const a = await hit(via, badKey(i + 1), botAddress());
      assert.equal(a.status, 401);
      assert.ok(a.ms < TARPIT_MS * 0.9, `mistake ${i} took ${Math.round(a.ms)} ms: held without a flood`);
    }
  });

  it('holds the flood past the burst while a valid key is served promptly throughout, directly and through the proxy', async () => {
    const viaProxy = agent(PROXY, 1);
    const countedBefore = await refusalsCounted(w);
    const auditedBefore = auditedBotRefusals(auditLines(w));
    let flooding = true;
    const valid: Answer[] = [];
    const validLoop = (async () => {
      while (flooding || valid.length < 4) {
        valid.push(await hit(w.dispatcher, w.adminKey));
        valid.push(await hit(viaProxy, w.adminKey, botAddress()));
      }
    })();
    // 8 connections, 3 attempts each, every attempt from a new address: no lockout can see it.
    const f = await flood(8, 3, badKey).finally(() => (flooding = false));
    await validLoop;

    assert.deepEqual([...new Set(f.answers.map((a) => a.status))], [401], 'every flood attempt is refused 401');
    assert.ok(f.ms >= TARPIT_MS, `24 bad keys over 8 connections took only ${Math.round(f.ms)} ms: not held`);
    // Past the first burst, refills (BURST per second) answer only a few at once; the rest wait.
    assert.ok(held(f.answers) >= 8, `only ${held(f.answers)} of 24 refusals were held: ${f.answers.map((a) => Math.round(a.ms)).join(',')}`);
    assert.ok(valid.every((a) => a.status === 200), `valid key answers: ${valid.map((a) => a.status).join(',')}`);
    const slowest = Math.max(...valid.map((a) => a.ms));
    assert.ok(slowest < TARPIT_MS * 0.9, `a valid request took ${Math.round(slowest)} ms during the flood: held`);

    // Held or not, every refusal is counted: in the metrics, and in the audit (lines + summaries).
    assert.equal((await refusalsCounted(w)) - countedBefore, 24, 'warden_refusals_total');
    await poll(
      () => `${auditedBotRefusals(auditLines(w)) - auditedBefore} of 24 refusals in the audit file`,
      () => auditedBotRefusals(auditLines(w)) - auditedBefore >= 24,
    );
    assert.equal(auditedBotRefusals(auditLines(w)) - auditedBefore, 24);
  });

  it('answers a request without any key at once during a bad-key flood, and tarpits a flood of keyless requests', async () => {
    // The bad-key flood's bucket empty, a probe without a key (its own bucket) is not held.
    const badFlood = flood(8, 2, badKey);
    const prober = agent(PROXY, 1);
    await new Promise((r) => setTimeout(r, 200));
    const probe = await hit(prober, null, botAddress());
    assert.equal(probe.status, 401);
    assert.ok(probe.ms < TARPIT_MS * 0.9, `a keyless probe took ${Math.round(probe.ms)} ms during a bad-key flood`);
    assert.ok(held((await badFlood).answers) >= 4, 'the bad-key flood was not held');

    // Leaving the header out does not dodge the brake.
    const keyless = await flood(8, 2, () => null);
    assert.deepEqual([...new Set(keyless.answers.map((a) => a.status))], [401]);
    assert.ok(held(keyless.answers) >= 4, `only ${held(keyless.answers)} of 16 keyless refusals were held`);
  });

  it('closes a connection that pipelines requests behind a held refusal (tarpit evasion by pipelining)', async () => {
    const s = await openTls(w, { localAddress: PROXY });
    const result = collect(s, TARPIT_MS + 8000);
    // More than a burst, each from a new address: one is held, and the next one behind it is pipelined.
    let payload = '';
    for (let i = 0; i < 2 * BURST + 2; i++) {
      payload += head('GET /api/version HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${badKey(i)}`, `X-Forwarded-For: ${botAddress()}`);
    }
    s.write(payload);
    const r = await result;
    assert.ok(r.closed, 'the server kept a pipelining connection open behind a held refusal');
    assert.ok(r.statuses.length < 2 * BURST + 2, `every pipelined request was answered: ${r.statuses.join(',')}`);
    assert.ok(r.statuses.every((st) => st === 401), r.statuses.join(','));
    await waitForAudit(w, (l) => l.status === 429 && /pipelined behind an authentication failure held/.test(l.reason ?? ''), 10_000);
  });
});

describe('a flood through a trusted proxy does not take all of its connections', () => {
  // The proxy's connections count against one address's cap; a proxy sends each request on a
  // free connection and queues (or opens a new one, refused past the cap) when all are busy. An
  // undici pool of exactly the cap's size, shared by the flood and a valid client, is that proxy.
  const CAP = 8;
  let fake3: FakeOllama;
  let w3: RunningWarden;
  let proxy: Agent;

  before(async () => {
    fake3 = await startFakeOllama({ chunks: 1, delayMs: 0 });
    w3 = await startWarden({
      upstream: fake3.url,
      env: {
        WARDEN_SECURITY_LOCKOUT_TARPIT_MS: String(TARPIT_MS),
        WARDEN_SECURITY_FLOOD_TARPIT_BURST: '2',
        WARDEN_SECURITY_TRUSTED_PROXIES: PROXY,
        WARDEN_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: String(CAP),
      },
    });
    proxy = new Agent({ connect: { ca: w3.caPem }, localAddress: PROXY, connections: CAP });
  });

  after(async () => {
    await proxy?.close().catch(() => undefined);
    await w3?.stop();
    await fake3?.close();
    if (w3) removeDir(w3.dataDir);
  });

  async function via(key: string | null, xff: string): Promise<Answer> {
    const t0 = performance.now();
    const res = await request(`${w3.url}/api/version`, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'x-forwarded-for': xff }, dispatcher: proxy });
    await res.body.text();
    return { status: res.statusCode, ms: performance.now() - t0 };
  }

  it('holds at most half of the proxy\'s connections, so its valid clients are served promptly', async () => {
    const flooding = Array.from({ length: 20 }, (_, i) => via(badKey(i), botAddress()));
    // the flood fills the pool first; the valid request queues behind it
    await new Promise((r) => setTimeout(r, 100));
    const valid = await via(w3.adminKey, '192.0.2.10');
    const answers = await Promise.all(flooding);
    assert.equal(valid.status, 200);
    assert.ok(valid.ms < TARPIT_MS * 0.9, `a valid request through the proxy took ${Math.round(valid.ms)} ms: its connections were all held`);
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [401]);
    assert.ok(held(answers) >= 1, 'nothing of the flood through the proxy was held');
  });
});

describe('held refusals and shutdown', () => {
  let fake2: FakeOllama;
  let w2: RunningWarden;

  before(async () => {
    fake2 = await startFakeOllama({ chunks: 1, delayMs: 0 });
    // A pause far longer than the shutdown grace (5 s): waiting it out would show.
    w2 = await startWarden({
      upstream: fake2.url,
      env: { WARDEN_SECURITY_LOCKOUT_TARPIT_MS: '60000', WARDEN_SECURITY_FLOOD_TARPIT_BURST: '1', WARDEN_SECURITY_TRUSTED_PROXIES: PROXY },
    });
  });

  after(async () => {
    await w2?.stop();
    await fake2?.close();
    if (w2) removeDir(w2.dataDir);
  });

  it('answers every held refusal (401, connection closed) as soon as Warden shuts down', async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const s = await openTls(w2, { localAddress: PROXY });
        const x = { r: collect(s, 30_000), answered: false };
        s.once('data', () => (x.answered = true));
        s.write(head('GET /api/version HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${badKey(i)}`, `X-Forwarded-For: 10.67.0.${i + 1}`));
        return x;
      }),
    );
    // The burst (1) is answered at once; the others are held for a minute.
    await poll(
      () => `${results.filter((x) => x.answered).length} answered`,
      () => results.some((x) => x.answered),
    );
    const stopped = performance.now();
    assert.equal(await w2.stop(), 0, 'clean exit');
    const stopMs = performance.now() - stopped;
    const all = await Promise.all(results.map((x) => x.r));
    for (const r of all) {
      assert.equal(r.statuses[0], 401, `a held refusal was cut off without its answer: ${JSON.stringify(r.text.slice(0, 80))}`);
      assert.ok(r.closed);
    }
    assert.ok(stopMs < 4500, `shutdown took ${Math.round(stopMs)} ms: it waited for the held refusals`);
  });
});
