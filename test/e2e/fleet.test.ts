// A fleet: 3 Warden instances on one real PostgreSQL store in front of 3 Ollama boxes
// with different model lists and load states. One shared setup; every wait is a bounded poll.
//
//   box A: llama3.2 (only here), shared:1b     loaded: llama3.2
//   box B: qwen2.5:7b, shared:1b                loaded: shared:1b
//   box C: phi3:mini, duo:1b                    loaded: phi3:mini
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama, type RecordedRequest } from '../helpers/fake-ollama.ts';
import { findPostgresBin, startPostgres, type RunningPostgres } from '../helpers/postgres.ts';
import { removeDir, runCli, startWarden, waitForKey, type RunningWarden } from '../helpers/warden.ts';
import { poll } from '../helpers/poll.ts';

const pgMissing = findPostgresBin() === null;
if (pgMissing && process.env.CI) throw new Error('PostgreSQL is not installed (apt-get install postgresql); CI must run this suite');

let pg: RunningPostgres;
let A: FakeOllama;
let B: FakeOllama;
let C: FakeOllama;
const wardens: RunningWarden[] = [];
let key = '';

interface Answer {
  status: number;
  text: string;
}

async function call(w: RunningWarden, method: string, path: string, body?: unknown, k = key): Promise<Answer> {
  const res = await request(`${w.url}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${k}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: w.dispatcher,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

const chat = (w: RunningWarden, model: string, stream = false): Promise<Answer> => call(w, 'POST', '/api/chat', { model, messages: [{ role: 'user', content: 'hi' }], stream });


/** Which box each of the requests since `marks` went to (chat/generate only). */
function chatsSince(marks: Map<FakeOllama, number>): Map<FakeOllama, RecordedRequest[]> {
  const out = new Map<FakeOllama, RecordedRequest[]>();
  for (const [f, n] of marks) out.set(f, f.requests.slice(n).filter((r) => r.url === '/api/chat' || r.url === '/api/pull'));
  return out;
}
const mark = (): Map<FakeOllama, number> => new Map([A, B, C].map((f) => [f, f.requests.length]));

interface UpstreamView {
  url: string;
  reachable: boolean | null;
  loaded: string[];
}

/** What an instance believes about each box (its status API, as `warden status` shows it). */
async function view(w: RunningWarden): Promise<Map<string, UpstreamView>> {
  const r = await call(w, 'GET', '/_warden/api/status');
  const s = JSON.parse(r.text) as { upstream: { upstreams: UpstreamView[] } };
  return new Map(s.upstream.upstreams.map((u) => [u.url, u]));
}

/** Waits until every instance sees `box` up with exactly `loaded` in memory (/api/ps is re-read every 5 s). */
async function settle(box: FakeOllama, loaded: string[]): Promise<void> {
  box.setLoaded(loaded);
  await poll(`every instance to see ${loaded.join(', ')} loaded`, async () => {
    for (const w of wardens) {
      const u = (await view(w)).get(box.url);
      if (u?.reachable !== true || [...u.loaded].sort().join() !== [...loaded].sort().join()) return false;
    }
    return true;
  }, 15_000, 100);
}

function names(text: string, field = 'models', nameField = 'name'): string[] {
  const list = (JSON.parse(text) as Record<string, Array<Record<string, string>>>)[field] ?? [];
  return list.map((m) => m[nameField] ?? '').sort();
}

describe('a fleet: 3 Wardens, 3 Ollama boxes, one PostgreSQL store', { skip: pgMissing ? 'PostgreSQL is not installed' : false }, () => {
  before(async () => {
    [A, B, C] = await Promise.all([
      startFakeOllama({ models: ['llama3.2:latest', 'shared:1b'], loaded: ['llama3.2:latest'], delayMs: 5 }),
      startFakeOllama({ models: ['qwen2.5:7b', 'shared:1b'], loaded: ['shared:1b'], delayMs: 5 }),
      startFakeOllama({ models: ['phi3:mini', 'duo:1b'], loaded: ['phi3:mini'], delayMs: 5 }),
    ]);
    pg = await startPostgres();
    const env = {
      WARDEN_STORE_URL: pg.url,
      WARDEN_UPSTREAMS: [A.url, B.url, C.url].join(','),
      WARDEN_LIMITS_UPSTREAM_FIRST_BYTE_SECONDS: '2',
    };
    // one after the other: the first creates the schema and the admin key
    for (let i = 0; i < 3; i++) wardens.push(await startWarden({ upstream: A.url, env }));
    key = wardens[0]!.adminKey;
    for (const w of wardens) await waitForKey(w, key);
    // every instance has probed every box (health and model lists) before the tests begin
    for (const w of wardens) await poll('the first health checks', async () => (await call(w, 'GET', '/api/tags')).text.includes('phi3'), 10_000, 100);
  });
  afterEach(() => {
    for (const f of [A, B, C]) {
      f.setBehaviour(null);
      f.setFailure(null);
    }
  });
  after(async () => {
    for (const w of wardens) {
      // the instance the concurrency test killed has nothing left to stop
      if (w.proc.exitCode === null && w.proc.signalCode === null) await w.stop();
      removeDir(w.dataDir);
    }
    await pg?.stop();
    await Promise.all([A, B, C].map((f) => f?.close()));
  });

  it('merged lists: /api/tags, /api/ps and /v1/models are the union of every box, the same on every instance', async () => {
    const all = ['duo:1b', 'llama3.2:latest', 'phi3:mini', 'qwen2.5:7b', 'shared:1b'];
    for (const w of wardens) {
      const tags = await call(w, 'GET', '/api/tags');
      assert.equal(tags.status, 200);
      // shared:1b is on A and B with the same digest: listed once
      assert.deepEqual(names(tags.text), all);
      assert.deepEqual(names((await call(w, 'GET', '/v1/models')).text, 'data', 'id'), all);
      const ps = names((await call(w, 'GET', '/api/ps')).text);
      for (const m of ['llama3.2:latest', 'shared:1b', 'phi3:mini']) assert.ok(ps.includes(m), `${m} in /api/ps: ${ps.join(', ')}`);
    }
  });

  it('merged lists are still filtered per key', async () => {
    const r = await runCli(['keys', 'create', '--name', 'qwen-only', '--scope', 'models:read', '--model', 'qwen*', '--json'], {
      dataDir: wardens[0]!.dataDir,
      env: { WARDEN_STORE_URL: pg.url },
    });
    assert.equal(r.code, 0, r.stderr);
    const k = (JSON.parse(r.stdout) as { key: string }).key;
    await waitForKey(wardens[1]!, k);
    assert.deepEqual(names((await call(wardens[1]!, 'GET', '/api/tags', undefined, k)).text), ['qwen2.5:7b']);
    assert.deepEqual(names((await call(wardens[1]!, 'GET', '/v1/models', undefined, k)).text, 'data', 'id'), ['qwen2.5:7b']);
  });

  it('affinity: a model goes to the box where it is loaded, even when another box has it on disk', async () => {
    const m = mark();
    for (let i = 0; i < 6; i++) assert.equal((await chat(wardens[i % 3]!, 'shared:1b')).status, 200);
    const sent = chatsSince(m);
    assert.equal(sent.get(B)!.length, 6, 'all to B, where shared:1b is loaded');
    assert.equal(sent.get(A)!.length, 0);
  });

  it('affinity: the second request for a model goes to the box that loaded it for the first', async () => {
    // duo:1b is on disk on C only at first; put it on A's disk too, loaded nowhere
    A.setModels(['llama3.2:latest', 'shared:1b', 'duo:1b']);
    C.setLoaded(['phi3:mini']);
    // the model lists refresh every 30 s; a box that comes back is re-read at once, so cycle A
    A.setFailure(500);
    await poll('A to be marked down', async () => (await chat(wardens[0]!, 'llama3.2')).status === 503, 15_000, 100);
    A.setFailure(null);
    await poll('A back with duo:1b', async () => (await chat(wardens[0]!, 'llama3.2')).status === 200, 15_000, 100);
    const m = mark();
    assert.equal((await chat(wardens[0]!, 'duo:1b')).status, 200);
    const first = [...chatsSince(m)].find(([, r]) => r.length === 1)?.[0];
    assert.ok(first, 'the first request went somewhere');
    for (let i = 0; i < 4; i++) assert.equal((await chat(wardens[0]!, 'duo:1b')).status, 200);
    assert.equal(chatsSince(m).get(first)!.length, 5, 'every later request followed the first');
  });

  it('affinity: load spreads when two boxes have the model loaded', async () => {
    A.setLoaded(['llama3.2:latest', 'shared:1b']);
    B.setLoaded(['shared:1b']);
    // /api/ps is re-read with every health check (5 s)
    await new Promise((r) => setTimeout(r, 100));
    const m = mark();
    await poll('both boxes to serve shared:1b', async () => {
      await Promise.all(Array.from({ length: 4 }, () => call(wardens[2]!, 'POST', '/api/chat', { model: 'shared:1b', messages: [], stream: true })));
      const s = chatsSince(m);
      return s.get(A)!.length > 0 && s.get(B)!.length > 0;
    }, 15_000, 100);
    assert.equal(chatsSince(m).get(C)!.length, 0, 'never to the box without the model');
  });

  it('failover: a box that resets the connection before answering — the request is served by another box with the model', async () => {
    await Promise.all([settle(A, ['llama3.2:latest', 'shared:1b']), settle(B, [])]);
    A.setBehaviour('reset');
    const m = mark();
    for (const w of wardens) {
      const r = await chat(w, 'shared:1b', true);
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /"done":true/);
      assert.doesNotMatch(r.text, /"error"/);
    }
    assert.equal(chatsSince(m).get(A)!.length, 3, 'each instance tried A first (where shared:1b is loaded)');
    assert.equal(chatsSince(m).get(B)!.length, 3, 'B answered all three');
  });

  it('failover never applies to mutating routes: a pull to a resetting box is answered 502, and no other box sees it', async () => {
    await settle(A, ['llama3.2:latest', 'shared:1b']);
    A.setBehaviour('reset');
    const m = mark();
    const r = await call(wardens[1]!, 'POST', '/api/pull', { model: 'shared:1b', stream: false });
    assert.equal(r.status, 502, r.text);
    assert.equal(chatsSince(m).get(A)!.length, 1, 'the pull went to A');
    assert.equal(chatsSince(m).get(B)!.length + chatsSince(m).get(C)!.length, 0, 'and nowhere else');
  });

  it('failover on hang: a box that accepts requests but never answers is left after the first-byte limit', async () => {
    await Promise.all([settle(B, ['shared:1b', 'qwen2.5:7b']), settle(A, ['llama3.2:latest'])]);
    B.setBehaviour('hang');
    const m = mark();
    const t0 = Date.now();
    const r = await chat(wardens[0]!, 'shared:1b', true);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"done":true/);
    assert.ok(Date.now() - t0 < 9000, `served in ${Date.now() - t0} ms`);
    assert.equal(chatsSince(m).get(B)!.length, 1, 'B got it first and never answered');
    assert.equal(chatsSince(m).get(A)!.length, 1, 'A answered');
  });

  it('a model held only by a box that is down answers 503 "no healthy upstream has model", not 404', async () => {
    A.setFailure(500);
    await poll('A to be marked down on every instance', async () => {
      const codes = await Promise.all(wardens.map((w) => chat(w, 'llama3.2')));
      return codes.every((c) => c.status === 503);
    }, 15_000, 100);
    const r = await chat(wardens[2]!, 'llama3.2');
    assert.match(r.text, /no healthy upstream has model llama3\.2/);
    // the public health answer says how many boxes are up, without their addresses
    const health = await request(`${wardens[2]!.url}/_warden/health`, { dispatcher: wardens[2]!.dispatcher });
    assert.equal(health.statusCode, 200);
    assert.deepEqual(await health.body.json(), { status: 'degraded', upstreams: { up: 2, total: 3 } });
    // a model no box has is still Ollama's 404
    assert.equal((await chat(wardens[2]!, 'nowhere:1b')).status, 404);
    A.setFailure(null);
    await poll('A back', async () => (await chat(wardens[2]!, 'llama3.2')).status === 200, 15_000, 100);
  });

  it('fleet metrics: per upstream (up, failovers), per model (requests, time to first byte) and per key', async () => {
    const scrape = (): Promise<string[]> => Promise.all(wardens.map(async (w) => (await call(w, 'GET', '/_warden/metrics')).text));
    const allUp = (t: string): boolean => [A, B, C].every((f) => t.includes(`warden_upstream_up{upstream="${f.url}"} 1\n`));
    // A was down in the test before: every instance sees it back within a health check or two
    await poll('every box up on every instance', async () => (await scrape()).every(allUp), 15_000, 100);
    const texts = await scrape();
    for (const t of texts) {
      assert.match(t, /^warden_model_requests_total\{model="shared:1b"\} [1-9]/m);
      assert.match(t, /^warden_model_time_to_first_byte_seconds_count\{model="shared:1b"\} [1-9]/m);
      assert.match(t, /^warden_key_requests_total\{key_id="[^"]+"\} [1-9]/m);
      assert.doesNotMatch(t, /warden_process_process_/);
    }
    // every instance sent one chat to A while it reset (the failover test)
    const failovers = texts.map((t) => Number(new RegExp(`^warden_upstream_failovers_total\\{upstream="${A.url}"\\} (\\d+)$`, 'm').exec(t)?.[1] ?? 0));
    assert.ok(failovers.every((n) => n >= 1), `failovers off A per instance: ${failovers.join(', ')}`);
  });

  async function limitedKey(args: string[]): Promise<string> {
    const r = await runCli(['keys', 'create', '--name', `limited-${args.join('')}`, ...args, '--json'], { dataDir: wardens[0]!.dataDir, env: { WARDEN_STORE_URL: pg.url } });
    assert.equal(r.code, 0, r.stderr);
    const k = (JSON.parse(r.stdout) as { key: string }).key;
    for (const w of wardens) await waitForKey(w, k);
    return k;
  }

  it('shared rpm: --rpm 30 across 3 instances admits 30 (plus the steady refill), not 90', async (t) => {
    const k = await limitedKey(['--rpm', '30']);
    const t0 = Date.now();
    // waitForKey spent one request per instance
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => call(wardens[i % 3]!, 'GET', '/api/version', undefined, k).then((r) => r.status)));
    const elapsedS = (Date.now() - t0) / 1000;
    const ok = statuses.filter((s) => s === 200).length + 3;
    assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join(','));
    // the bucket refills at 30/60 per second while the burst runs
    t.diagnostic(`${ok} of 63 admitted in ${elapsedS} s`);
    assert.ok(ok >= 30 && ok <= 30 + Math.ceil(elapsedS * 0.5), `${ok} admitted in ${elapsedS} s`);
  });

  it('shared concurrency: --concurrency 2 allows 2 streams fleet-wide; an instance that dies holding one frees it within the lease', async (t) => {
    const k = await limitedKey(['--concurrency', '2']);
    const slow = (w: RunningWarden, chunks = 15, signal?: AbortSignal): Promise<Answer> =>
      request(`${w.url}/api/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json', 'x-fake-delay-ms': '200', 'x-fake-chunks': String(chunks) },
        body: JSON.stringify({ model: 'qwen2.5:7b', messages: [] }),
        dispatcher: w.dispatcher,
        signal,
      }).then(async (r) => ({ status: r.statusCode, text: await r.body.text().catch(() => '') }));
    const running = () => B.requests.filter((r) => r.url === '/api/chat' && !r.completed && !r.aborted).length;
    const first = slow(wardens[0]!);
    const second = slow(wardens[1]!);
    await poll('two streams running', async () => running() === 2, 20_000, 100);
    assert.equal((await slow(wardens[2]!)).status, 429, 'a third stream on the third instance');
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
    // slots come back when streams end
    await poll('a slot free again', async () => (await call(wardens[2]!, 'GET', '/api/version', undefined, k)).status === 200, 20_000, 100);

    // an instance killed while holding a slot: the slot is taken until its lease runs out (10 s),
    // while a live stream (40 s long, cut at the end) holds the other
    const doomed = wardens[2]!;
    const stop = new AbortController();
    void slow(doomed, 200).catch(() => undefined);
    void slow(wardens[0]!, 200, stop.signal).catch(() => undefined);
    await poll('two streams running again', async () => running() === 2, 20_000, 100);
    doomed.proc.kill('SIGKILL');
    const killedAt = Date.now();
    assert.equal((await call(wardens[1]!, 'GET', '/api/version', undefined, k)).status, 429, 'the dead instance still holds its slot');
    await poll('the dead instance\'s slot to be released', async () => (await call(wardens[1]!, 'GET', '/api/version', undefined, k)).status === 200, 20_000, 100);
    const took = Date.now() - killedAt;
    stop.abort();
    t.diagnostic(`the dead instance's slot was free again after ${took} ms`);
    // the lease (10 s) plus one poll round: each poll is a request through a Warden process,
    // which takes a few seconds on a loaded 2-core machine
    assert.ok(took <= 10_000 + 5_000, `released after ${took} ms`);
  });

  // Last: it locks 127.0.0.1 out of the surviving instances (for failures).
  it('shared lockout: failures spread over two instances lock the address out of both', async (t) => {
    const bad = 'owk_nope_' + 'x'.repeat(40);
    // alternating instances: 12 attempts on each stay under the threshold (20) on either alone
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) statuses.push((await call(wardens[i % 2]!, 'GET', '/api/version', undefined, bad)).status);
    assert.ok(statuses.every((s) => s === 401 || s === 429), statuses.join(','));
    // A locked-out address still gets in with a valid key; its failures get 429. At most 6 more
    // tries per instance keeps each instance's own count (12 + 6) under the threshold: a 429 here
    // can only come from the fleet's count.
    for (const w of [wardens[0]!, wardens[1]!]) {
      let locked = false;
      for (let i = 0; i < 6 && !locked; i++) {
        locked = (await call(w, 'GET', '/api/version', undefined, bad)).status === 429;
        if (!locked) await new Promise((r) => setTimeout(r, 300));
      }
      assert.ok(locked, 'the fleet lockout reached the instance');
    }
    assert.equal((await call(wardens[0]!, 'GET', '/api/version')).status, 200, 'a valid key is still served');
    const failures = statuses.filter((s) => s === 401).length;
    t.diagnostic(`${failures} failures answered 401 over 2 instances before the address was locked out (threshold 20)`);
    assert.ok(failures >= 20 && failures <= 24, `${failures}`);
  });
});
