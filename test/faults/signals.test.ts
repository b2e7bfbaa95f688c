// Issue 16, row "SIGHUP": signals behave like the servers operators know. SIGHUP reloads (the
// process used to die at once, cutting streams and leaving run files); SIGTERM drains streams
// for server.shutdownGraceSeconds and removes the run files; a second SIGTERM stops at once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';

async function waitFor(ms: number, what: string, fn: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts a streamed generation; resolves once the first line arrived, with the rest to come. */
async function startStream(w: RunningWarden): Promise<{ rest: Promise<{ lines: string[]; error: unknown }> }> {
  const res = await request(`${w.url}/api/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${w.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2', prompt: 'hi', stream: true }),
    dispatcher: w.dispatcher,
  });
  assert.equal(res.statusCode, 200);
  const it = res.body[Symbol.asyncIterator]();
  let text = '';
  while (!text.includes('\n')) {
    const n = await it.next();
    if (n.done) break;
    text += (n.value as Buffer).toString();
  }
  const rest = (async () => {
    try {
      for (let n = await it.next(); !n.done; n = await it.next()) text += (n.value as Buffer).toString();
      return { lines: text.split('\n').filter(Boolean), error: null };
    } catch (error) {
      return { lines: text.split('\n').filter(Boolean), error };
    }
  })();
  return { rest };
}

const runFiles = (w: RunningWarden): string[] => [join(w.dataDir, 'run', 'server.json'), join(w.dataDir, 'run', 'admin-token')];
const exited = (w: RunningWarden): Promise<number | null> => (w.proc.exitCode !== null ? Promise.resolve(w.proc.exitCode) : new Promise((r) => w.proc.once('exit', (c) => r(c))));

describe('signals', { skip: process.platform === 'win32' ? 'POSIX signals' : false }, () => {
  let fake: FakeOllama;
  const started: RunningWarden[] = [];
  before(async () => {
    // 20 lines 100 ms apart: a 2 s stream.
    fake = await startFakeOllama({ chunks: 20, delayMs: 100 });
  });
  after(async () => {
    for (const w of started) {
      await w.stop('SIGKILL');
      removeDir(w.dataDir);
    }
    await fake?.close();
  });

  it('SIGHUP reloads and keeps serving: the stream in flight completes, run files stay', async () => {
    const w = await startWarden({ upstream: fake.url, env: { WARDEN_SERVER_SHUTDOWN_GRACE_SECONDS: '10' } });
    started.push(w);
    const s = await startStream(w);
    w.proc.kill('SIGHUP');
    await waitFor(5000, 'reload logged', () => w.output().includes('reloaded on SIGHUP'));
    const { lines, error } = await s.rest;
    assert.equal(error, null);
    assert.equal((JSON.parse(lines.at(-1)!) as { done: boolean }).done, true, 'the stream ran to its end');
    assert.equal(w.proc.exitCode, null);
    assert.equal(w.proc.signalCode, null);
    for (const f of runFiles(w)) assert.ok(existsSync(f), f);
    const again = await request(`${w.url}/api/version`, { headers: { authorization: `Bearer ${w.adminKey}` }, dispatcher: w.dispatcher });
    await again.body.text();
    assert.equal(again.statusCode, 200);
  });

  it('SIGTERM drains the stream in flight, then exits 0 and removes the run files', async () => {
    const w = await startWarden({ upstream: fake.url, env: { WARDEN_SERVER_SHUTDOWN_GRACE_SECONDS: '10' } });
    started.push(w);
    const s = await startStream(w);
    w.proc.kill('SIGTERM');
    const { lines, error } = await s.rest;
    assert.equal(error, null);
    assert.equal((JSON.parse(lines.at(-1)!) as { done: boolean }).done, true, 'the stream ran to its end');
    assert.equal(await exited(w), 0);
    for (const f of runFiles(w)) assert.ok(!existsSync(f), `${f} left behind`);
    assert.match(w.output(), /in-flight streams get 10 s/);
  });

  it('a second SIGTERM stops at once, and still removes the run files', async () => {
    const slow = await startFakeOllama({ chunks: 300, delayMs: 100 });
    try {
      const w = await startWarden({ upstream: slow.url, env: { WARDEN_SERVER_SHUTDOWN_GRACE_SECONDS: '60' } });
      started.push(w);
      const s = await startStream(w);
      w.proc.kill('SIGTERM');
      await waitFor(5000, 'drain logged', () => w.output().includes('shutting down'));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(w.proc.exitCode, null, 'still draining after the first signal');
      const t0 = Date.now();
      w.proc.kill('SIGTERM');
      await exited(w);
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      for (const f of runFiles(w)) assert.ok(!existsSync(f), `${f} left behind`);
      const { lines } = await s.rest;
      assert.ok(lines.length < 300, 'the long stream was cut');
    } finally {
      await slow.close();
    }
  });
});
