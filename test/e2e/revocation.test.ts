// Revocation and rotation from the CLI (another process) reach a running server within 1 s,
// on already-open keep-alive connections, and cut streams already running under the key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client, request } from 'undici';
import { withWarden, runCli, startGeneration } from '../helpers/warden.ts';

/** Creates a key from the CLI and waits until the running server accepts it (≤ 1 s). */
async function createKey(name: string): Promise<{ id: string; key: string }> {
  const r = await runCli(['keys', 'create', '--name', name, '--json'], { dataDir: stack.w.dataDir });
  assert.equal(r.code, 0, r.stderr);
  const k = JSON.parse(r.stdout) as { id: string; key: string };
  const took = await within(3000, async () => {
    const res = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${k.key}` }, dispatcher: stack.w.dispatcher });
    await res.body.text();
    return res.statusCode === 200;
  });
  assert.ok(took <= 1500, `a new key took ${took} ms to reach the server`);
  return k;
}

/** Polls until fn() is true; returns how long it took in ms, or throws after timeoutMs. */
async function within(timeoutMs: number, fn: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

const stack = withWarden({ ollama: { chunks: 400, delayMs: 25 } });

describe('revocation', () => {
  it('refuses a key revoked from the CLI on an already-open keep-alive connection within 1 s (stolen key)', async () => {
    const k = await createKey('to-revoke');
    const client = new Client(stack.w.url, { connect: { ca: stack.w.caPem }, pipelining: 1, keepAliveTimeout: 60_000 });
    try {
      const get = async (): Promise<number> => {
        const r = await client.request({ path: '/api/version', method: 'GET', headers: { authorization: `Bearer ${k.key}` } });
        await r.body.text();
        return r.statusCode;
      };
      assert.equal(await get(), 200);
      const rev = await runCli(['keys', 'revoke', k.id], { dataDir: stack.w.dataDir });
      assert.equal(rev.code, 0, rev.stderr);
      const t0 = Date.now();
      await within(3000, async () => (await get()) === 401);
      assert.ok(Date.now() - t0 <= 1500, `revocation took ${Date.now() - t0} ms`);
      const reached = stack.fake.requests.length;
      assert.equal(await get(), 401);
      assert.equal(stack.fake.requests.length, reached, 'a request with the revoked key reached Ollama');
      const list = await runCli(['keys', 'list', '--json'], { dataDir: stack.w.dataDir });
      const entry = (JSON.parse(list.stdout) as Array<{ id: string; state: string }>).find((e) => e.id === k.id);
      assert.equal(entry?.state, 'revoked');
    } finally {
      await client.close();
    }
  });

  it('cuts a stream already running under a key within 1 s of its revocation', async () => {
    const k = await createKey('streaming');
    const res = await startGeneration(stack.w, k.key);
    assert.equal(res.statusCode, 200);
    let ended = 0;
    let errored = false;
    let lines = 0;
    const done = (async () => {
      try {
        for await (const chunk of res.body) lines += String(chunk).split('\n').length - 1;
      } catch {
        errored = true;
      }
      ended = Date.now();
    })();
    await within(3000, async () => lines > 0); // the stream is running
    const rev = await runCli(['keys', 'revoke', k.id], { dataDir: stack.w.dataDir });
    assert.equal(rev.code, 0);
    const revokedAt = Date.now();
    await done;
    assert.ok(ended - revokedAt <= 1500, `stream ran on for ${ended - revokedAt} ms after revocation`);
    assert.ok(lines < 400, `the stream ran to completion (errored: ${errored})`);
    const upstreamReq = stack.fake.requests.filter((r) => r.url === '/api/generate').at(-1);
    await within(2000, async () => upstreamReq?.aborted === true);
  });
});

describe('rotation', () => {
  it('with --grace keeps the old secret working, and the new one works at once', async () => {
    const k = await createKey('rotating');
    const rot = await runCli(['keys', 'rotate', k.id, '--grace', '1h', '--json'], { dataDir: stack.w.dataDir });
    assert.equal(rot.code, 0, rot.stderr);
    const next = JSON.parse(rot.stdout) as { id: string; key: string; name: string };
    assert.equal(next.id, k.id);
    assert.notEqual(next.key, k.key);
    const status = async (key: string): Promise<number> => {
      const r = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: stack.w.dispatcher });
      await r.body.text();
      return r.statusCode;
    };
    await within(2000, async () => (await status(next.key)) === 200);
    assert.equal(await status(k.key), 200, 'the old secret stopped working during the grace period');
  });

  it('without --grace ends the old secret within 1 s', async () => {
    const k = await createKey('rotating-now');
    const rot = await runCli(['keys', 'rotate', k.id, '--json'], { dataDir: stack.w.dataDir });
    const next = JSON.parse(rot.stdout) as { key: string };
    const status = async (key: string): Promise<number> => {
      const r = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: stack.w.dispatcher });
      await r.body.text();
      return r.statusCode;
    };
    const took = await within(3000, async () => (await status(k.key)) === 401);
    assert.ok(took <= 1500, `old secret worked for ${took} ms`);
    assert.equal(await status(next.key), 200);
  });
});
