// The local control token (<data>/run/admin-token) was a full admin credential accepted from any
// peer on the 0.0.0.0 listener: whoever read it once (a backup, a support bundle, a log) could
// mint admin keys from anywhere. It is now accepted only from this machine, never through a
// relaying proxy, and only for the routes `warden status`, `warden reload` and `warden lockout`
// call; it cannot sign in to the UI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, runCli, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { startHarness, type Harness } from '../admin/helpers.ts';

describe('the control token on the real server (loopback peer)', () => {
  let fake: FakeOllama;
  let w: RunningWarden;
  let token: string;
  before(async () => {
    fake = await startFakeOllama();
    w = await startWarden({ upstream: fake.url });
    token = readFileSync(join(w.dataDir, 'run', 'admin-token'), 'utf8').trim();
  });
  after(async () => {
    await w?.stop();
    await fake?.close();
    if (w) removeDir(w.dataDir);
  });

  async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
    const res = await request(`${w.url}${path}`, { method: method as 'GET', headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, body, dispatcher: w.dispatcher });
    await res.body.text();
    return res.statusCode;
  }

  it('still serves `warden status` and `warden reload`', async () => {
    assert.equal(await call('GET', '/_warden/api/status'), 200);
    assert.equal(await call('POST', '/_warden/api/reload'), 200);
    const st = await runCli(['status', '--json'], { dataDir: w.dataDir });
    assert.equal((JSON.parse(st.stdout) as { source: string }).source, 'server');
  });

  it('cannot create keys, change settings, issue certificates or read the audit log', async () => {
    assert.equal(await call('POST', '/_warden/api/keys', {}, JSON.stringify({ name: 'minted', scopes: ['admin'] })), 403);
    assert.equal(await call('GET', '/_warden/api/keys'), 403);
    assert.equal(await call('PATCH', '/_warden/api/settings', {}, JSON.stringify({ tls: { mode: 'off' } })), 403);
    assert.equal(await call('POST', '/_warden/api/certs', {}, JSON.stringify({ name: 'x', days: 1 })), 403);
    assert.equal(await call('GET', '/_warden/api/audit'), 403);
    const keys = JSON.parse((await runCli(['keys', 'list', '--json'], { dataDir: w.dataDir })).stdout) as Array<{ name: string }>;
    assert.ok(!keys.some((k) => k.name === 'minted'));
  });

  it('cannot sign in to the web UI', async () => {
    const res = await request(`${w.url}/_warden/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: token }), dispatcher: w.dispatcher });
    await res.body.text();
    assert.equal(res.statusCode, 401);
  });

  it('is refused through a relaying proxy on this machine (X-Forwarded-For, Forwarded)', async () => {
    assert.equal(await call('GET', '/_warden/api/status', { 'x-forwarded-for': '203.0.113.7' }), 401);
    assert.equal(await call('GET', '/_warden/api/status', { forwarded: 'for=203.0.113.7' }), 401);
  });
});

describe('the control token from another machine', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h?.close());

  it('is refused with 401 like any wrong key, for every route', async () => {
    for (const [method, url] of [['GET', '/_warden/api/status'], ['POST', '/_warden/api/reload'], ['GET', '/_warden/api/keys']] as const) {
      const res = await h.app.inject({ method, url, remoteAddress: '203.0.113.7', headers: { authorization: `Bearer ${h.localToken}` } });
      assert.equal(res.statusCode, 401, `${method} ${url}: ${res.body}`);
    }
    const ok = await h.app.inject({ method: 'GET', url: '/_warden/api/status', remoteAddress: '127.0.0.1', headers: { authorization: `Bearer ${h.localToken}` } });
    assert.equal(ok.statusCode, 200, ok.body);
    const v6 = await h.app.inject({ method: 'GET', url: '/_warden/api/status', remoteAddress: '::ffff:127.0.0.1', headers: { authorization: `Bearer ${h.localToken}` } });
    assert.equal(v6.statusCode, 200, v6.body);
  });
});
