// Attack: flood the gateway with bad keys from many addresses (a botnet, or one host with a
// /24 of its own), so that each refusal costs one audit line — the audit log becomes the most
// expensive part of a refusal, slows valid traffic and fills the disk.
//
// 500 bad-key requests from 250 loopback addresses in two /24s (127.0.60.x and 127.0.61.x, a
// fresh connection each, client socket bound to the address) while a valid key keeps asking.
// Every refusal is still accounted for — individual events plus the counts of the summary
// events add up to exactly 500, in the file, in the store (admin API) and after shutdown (the
// running second's summaries are flushed on close) — but the audit rows stay bounded:
// per second, per /24 and per reason at most INDIVIDUAL (5) events plus one summary.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, runCli, type RunningWarden } from '../helpers/warden.ts';
import { auditLines, collect, head, openTls, refusalsCounted, type AuditLine } from './helpers.ts';
import { poll } from '../helpers/poll.ts';

const FLOOD = 500;
const PREFIXES = ['127.0.60', '127.0.61'];
const SUMMARY = /^(\d+) more refusals from (\S+) until (\S+): (.*)$/s;

let fake: FakeOllama;
let w: RunningWarden;

before(async () => {
  fake = await startFakeOllama({ chunks: 1, delayMs: 0 });
  // Lockout and progressive delay as shipped; no tarpit pause, so the flood is fast.
  w = await startWarden({ upstream: fake.url, env: { WARDEN_SECURITY_LOCKOUT_TARPIT_MS: '0' } });
});

after(async () => {
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

async function badKey(i: number): Promise<number> {
  const addr = `${PREFIXES[i % 2]}.${1 + (Math.floor(i / 2) % 250)}`;
  const s = await openTls(w, { localAddress: addr });
  const done = collect(s, 15_000);
  s.write(head('GET /api/tags HTTP/1.1', 'Host: localhost', `Authorization: Bearer owk_${'B'.repeat(39)}${i}`, 'Connection: close'));
  const r = await done;
  assert.equal(r.statuses.length, 1, `request ${i}: ${JSON.stringify(r.statuses)}`);
  return r.statuses[0]!;
}

const ours = (l: AuditLine): boolean => !!l.clientAddress && PREFIXES.some((p) => l.clientAddress!.startsWith(`${p}.`));

/** Individual refusals plus summary counts from the flood's addresses, and how many rows that took. */
function account(lines: AuditLine[]): { refusals: number; rows: number; summaries: number } {
  let refusals = 0;
  let rows = 0;
  let summaries = 0;
  for (const l of lines) {
    if (!ours(l)) continue;
    rows++;
    if (l.kind === 'request') {
      assert.ok(l.status === 401 || l.status === 429, JSON.stringify(l));
      refusals++;
    } else if (l.kind === 'request.refused_summary') {
      const m = SUMMARY.exec(l.reason ?? '');
      assert.ok(m, `summary reason: ${l.reason}`);
      assert.ok(/^127\.0\.6[01]\.0\/24$/.test(l.clientAddress!), l.clientAddress!);
      assert.ok(l.status === 401 || l.status === 429, JSON.stringify(l));
      refusals += Number(m[1]);
      summaries++;
    } else {
      assert.fail(`unexpected event ${JSON.stringify(l)}`);
    }
  }
  return { refusals, rows, summaries };
}

describe('a flood of bad keys from many addresses costs a bounded number of audit rows', () => {
  it('500 refusals: counted exactly, at most (5 + 1) rows per /24, reason and second; a valid key is served throughout', async (t) => {
    // A valid key from 127.0.0.1, asking all along.
    const keyOut = await runCli(['keys', 'create', '--name', 'flood-valid', '--json'], { dataDir: w.dataDir });
    assert.equal(keyOut.code, 0, keyOut.stderr);
    const secret = (JSON.parse(keyOut.stdout) as { key: string }).key;
    const ask = async (): Promise<number> => {
      const res = await request(`${w.url}/api/tags`, { headers: { authorization: `Bearer ${secret}` }, dispatcher: w.dispatcher });
      await res.body.text();
      return res.statusCode;
    };
    // The server picks the new key up from the store (a reload): wait until it is served.
    let first = await ask();
    const ready = Date.now() + 20_000;
    while (first !== 200 && Date.now() < ready) {
      await new Promise((r) => setTimeout(r, 100));
      first = await ask();
    }
    assert.equal(first, 200, 'the valid key is served before the flood');
    const countedBefore = await refusalsCounted(w);
    let flooding = true;
    const valid: number[] = [];
    const validLoop = (async () => {
      while (flooding || valid.length < 3) {
        valid.push(await ask());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const started = Date.now();
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < FLOOD) statuses.push(await badKey(next++));
      }),
    );
    const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
    flooding = false;
    await validLoop;

    assert.equal(statuses.length, FLOOD);
    assert.ok(statuses.every((s) => s === 401 || s === 429), JSON.stringify([...new Set(statuses)]));
    assert.ok(valid.length >= 3 && valid.every((s) => s === 200), `valid key answers during the flood: ${JSON.stringify(valid)}`);
    // The metrics count every refusal, summarised in the audit or not.
    assert.equal((await refusalsCounted(w)) - countedBefore, FLOOD, 'warden_refusals_total');

    // Each summary is written when its second ends: wait until every refusal is accounted for.
    await poll(() => `${account(auditLines(w)).refusals} of ${FLOOD} refusals in the audit file`, () => account(auditLines(w)).refusals >= FLOOD);
    const file = account(auditLines(w));
    assert.equal(file.refusals, FLOOD, 'individual events plus summary counts = requests sent');
    const reasons = new Set(auditLines(w).filter(ours).map((l) => `${l.status} ${(SUMMARY.exec(l.reason ?? '')?.[4] ?? l.reason)}`));
    // The bound: per second, per /24 and per (status, reason), 5 individual events and 1 summary.
    const bound = 6 * PREFIXES.length * reasons.size * seconds;
    assert.ok(file.rows <= bound, `${file.rows} audit rows for ${FLOOD} refusals over ${seconds} s, ${reasons.size} reasons; bound ${bound}`);
    assert.ok(file.rows <= FLOOD / 2, `${file.rows} audit rows for ${FLOOD} refusals`);
    assert.ok(file.summaries > 0);
    t.diagnostic(`${FLOOD} refusals in ${file.rows} audit rows (${file.summaries} summaries) over ${seconds} s; bound ${bound}`);

    // The store holds the same (the UI and the admin API read it).
    const fromStore = async (): Promise<AuditLine[]> => {
      const all: AuditLine[] = [];
      let before: string | null = null;
      do {
        const res: Awaited<ReturnType<typeof request>> = await request(`${w.url}/_warden/api/audit?limit=500${before ? `&before=${encodeURIComponent(before)}` : ''}`, {
          headers: { authorization: `Bearer ${w.adminKey}` },
          dispatcher: w.dispatcher,
        });
        assert.equal(res.statusCode, 200);
        const body = (await res.body.json()) as { events: AuditLine[]; next: string | null };
        all.push(...body.events);
        before = body.next;
      } while (before);
      return all;
    };
    let stored = await fromStore();
    const deadline = Date.now() + 20_000;
    while (account(stored).refusals < FLOOD && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      stored = await fromStore();
    }
    assert.equal(account(stored).refusals, FLOOD, 'store: individual events plus summary counts');
    assert.equal(account(stored).rows, file.rows);
  });

  it('the summaries of the running second are written on shutdown', async () => {
    const before = auditLines(w).length;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await badKey(1000 + i * 2)); // all from 127.0.60.x
    await w.stop();
    const lines = auditLines(w).slice(before).filter(ours);
    const { refusals, summaries } = account(lines);
    assert.equal(refusals, statuses.length, JSON.stringify(lines.map((l) => l.reason)));
    assert.ok(lines.length <= statuses.length - summaries);
  });
});
