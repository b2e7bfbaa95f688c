// Attack: lock every operator out of the web UI from behind the load balancer. Admin sign-in
// counted attempts per socket peer, which behind a reverse proxy is the proxy: ten junk sign-ins
// from anyone locked the UI for everyone for 60 s, and the admin audit events named the proxy.
// With security.trustedProxies set, the admin API uses the client address the proxy path uses
// (X-Forwarded-For from a trusted peer), and IPv6 clients are counted per /64.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { waitForAudit } from './helpers.ts';

let fake: FakeOllama;
let w: RunningWarden;

before(async () => {
  fake = await startFakeOllama({ chunks: 1, delayMs: 0 });
  w = await startWarden({ upstream: fake.url, env: { WARDEN_SECURITY_TRUSTED_PROXIES: '127.0.0.1' } });
});

after(async () => {
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

async function signIn(key: string, forwardedFor: string): Promise<number> {
  const res = await request(`${w.url}/_warden/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ key }),
    dispatcher: w.dispatcher,
  });
  await res.body.text();
  return res.statusCode;
}

const JUNK = `owk_${'A'.repeat(43)}`;

describe('admin sign-in behind a trusted proxy', () => {
  it('junk sign-ins from one client limit that client, not the operator behind the same proxy', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await signIn(JUNK, '203.0.113.9'));
    assert.equal(statuses.at(-1), 429, `the flooding client is limited: ${JSON.stringify(statuses)}`);
    assert.equal(await signIn(w.adminKey, '198.51.100.7'), 200, 'another client behind the same proxy can still sign in');
  });

  it('the admin audit events name the client, not the proxy', async () => {
    const failed = await waitForAudit(w, (l) => l.kind === 'admin.signin_failed' && l.status === 401);
    assert.equal(failed.clientAddress, '203.0.113.9');
    const ok = await waitForAudit(w, (l) => l.kind === 'admin.signin');
    assert.equal(ok.clientAddress, '198.51.100.7');
  });

  it('IPv6 clients are counted per /64: rotating the interface id does not escape the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await signIn(JUNK, `2001:db8:1:2::${(i + 1).toString(16)}`));
    assert.equal(statuses.at(-1), 429, JSON.stringify(statuses));
    assert.equal(await signIn(w.adminKey, '2001:db8:1:3::1'), 200, 'the next /64 is another client');
  });
});
