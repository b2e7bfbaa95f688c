// Admin sign-in, sessions, CSRF and response headers, over a real HTTPS listener.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, signIn, type Harness } from './helpers.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/admin/http.ts';

let h: Harness;
let clock = Date.now();

before(async () => {
  h = await startHarness({ now: () => clock, signInPerMinute: 10 });
});
after(async () => {
  await h.close();
});

void test('sign-in with an admin key sets an HttpOnly, Secure, SameSite=Strict cookie and never echoes the key', async () => {
  const { res, cookie, csrf } = await signIn(h);
  assert.equal(res.status, 200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/_warden/']) assert.ok(setCookie.includes(attr), `got ${setCookie}, want ${attr}`);
  assert.match(cookie, /^warden_session=[A-Za-z0-9_-]{43}$/);
  assert.ok(!setCookie.includes(h.adminKey), 'the cookie must not be the key');
  assert.ok(csrf.length >= 40);
  const me = await h.fetch('/_warden/api/session', { headers: { cookie } });
  assert.equal(me.status, 200);
  const body = await me.text();
  assert.ok(!body.includes(h.adminKey));
  assert.equal((JSON.parse(body) as { csrfToken: string }).csrfToken, csrf);
});

void test('credentials that are not an admin key are refused with the right status', async () => {
  const cases: Array<{ name: string; init: { method?: string; headers?: Record<string, string>; body?: string }; path: string; status: number; code: string }> = [
    { name: 'non-admin key cannot sign in', path: '/_warden/api/session', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: h.userKey }) }, status: 403, code: 'WARDEN_ERR_FORBIDDEN_SCOPE' },
    { name: 'wrong key cannot sign in', path: '/_warden/api/session', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: h.adminKey.slice(0, -1) + (h.adminKey.endsWith('A') ? 'B' : 'A') }) }, status: 401, code: 'WARDEN_ERR_AUTH_INVALID_KEY' },
    { name: 'non-admin Bearer key is forbidden on the API', path: '/_warden/api/keys', init: { headers: { authorization: `Bearer ${h.userKey}` } }, status: 403, code: 'WARDEN_ERR_FORBIDDEN_SCOPE' },
    { name: 'no credentials', path: '/_warden/api/keys', init: {}, status: 401, code: 'WARDEN_ERR_AUTH_MISSING' },
    { name: 'malformed Authorization', path: '/_warden/api/keys', init: { headers: { authorization: `Basic ${h.adminKey}` } }, status: 400, code: 'WARDEN_ERR_AUTH_MALFORMED' },
    { name: 'forged session cookie', path: '/_warden/api/keys', init: { headers: { cookie: 'warden_session=' + 'A'.repeat(43) } }, status: 401, code: 'WARDEN_ERR_AUTH_MISSING' },
  ];
  for (const c of cases) {
    const res = await h.fetch(c.path, c.init);
    const body = (await res.json()) as { code: string; error: string };
    assert.equal(res.status, c.status, `${c.name}: got ${res.status}, want ${c.status}`);
    assert.equal(body.code, c.code, c.name);
    // RFC 6750 §3.1: error="invalid_token" only when a key was presented and is not valid.
    const challenge = c.code === 'WARDEN_ERR_AUTH_INVALID_KEY' ? 'Bearer realm="warden", error="invalid_token"' : 'Bearer realm="warden"';
    if (c.status === 401) assert.equal(res.headers.get('www-authenticate'), challenge, c.name);
    assert.equal(res.headers.get('set-cookie'), null, `${c.name}: no session may be created`);
  }
  // Refusals are audited for the operator.
  const audited = async (): Promise<boolean> => {
    const failures = await h.store.audit.query({ kind: 'admin.signin_failed' });
    return failures.some((e) => e.status === 403) && failures.some((e) => e.status === 401);
  };
  const deadline = Date.now() + 10_000;
  while (!(await audited())) {
    assert.ok(Date.now() < deadline, 'the refused sign-ins were not audited');
    await new Promise((r) => setTimeout(r, 20));
  }
});

void test('CSRF: a state change with the session cookie but without the X-CSRF-Token header is refused', async () => {
  const { cookie, csrf } = await signIn(h);
  let n = 0;
  const create = (headers: Record<string, string>) =>
    h.fetch('/_warden/api/keys', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: `csrf-probe-${n++}` }) });
  const cases: Array<{ name: string; headers: Record<string, string>; status: number }> = [
    { name: 'no token', headers: { cookie }, status: 403 },
    { name: 'wrong token', headers: { cookie, 'x-csrf-token': csrf.slice(0, -2) + 'xx' }, status: 403 },
    { name: 'token of the right length but another session', headers: { cookie, 'x-csrf-token': 'a'.repeat(csrf.length) }, status: 403 },
    { name: 'cross-origin Origin with the right token', headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' }, status: 403 },
    { name: 'right token', headers: { cookie, 'x-csrf-token': csrf, origin: h.origin }, status: 201 },
    { name: 'Bearer needs no token', headers: { authorization: `Bearer ${h.adminKey}` }, status: 201 },
  ];
  for (const c of cases) {
    const res = await create(c.headers);
    assert.equal(res.status, c.status, `${c.name}: got ${res.status}, want ${c.status}`);
    await res.arrayBuffer();
  }
  const names = (await h.store.keys.list()).filter((k) => k.name.startsWith('csrf-probe'));
  assert.equal(names.length, 2, 'only the two accepted requests created keys');
});

void test('sessions expire after 30 idle minutes and after 12 hours in all', async () => {
  const { cookie } = await signIn(h);
  const ok = async () => (await h.fetch('/_warden/api/status', { headers: { cookie } })).status;
  assert.equal(await ok(), 200);
  clock += 29 * 60_000;
  assert.equal(await ok(), 200, 'activity within 30 minutes keeps the session');
  clock += 31 * 60_000;
  assert.equal(await ok(), 401, 'idle for 31 minutes ends it');

  const second = await signIn(h);
  for (let i = 0; i < 25; i++) {
    clock += 29 * 60_000; // active all along
    assert.equal((await h.fetch('/_warden/api/status', { headers: { cookie: second.cookie } })).status, i < 24 ? 200 : 401, `after ${(i + 1) * 29} minutes`);
  }
});

void test('session fixation: signing in always issues a new session id, whatever cookie was sent', async () => {
  const first = await signIn(h);
  const res = await h.fetch('/_warden/api/session', { method: 'POST', headers: { 'content-type': 'application/json', cookie: first.cookie }, body: JSON.stringify({ key: h.adminKey }) });
  await res.arrayBuffer();
  const second = (res.headers.get('set-cookie') ?? '').split(';')[0];
  assert.ok(second && second !== first.cookie, 'a fresh id');
  const planted = await h.fetch('/_warden/api/session', { method: 'POST', headers: { 'content-type': 'application/json', cookie: 'warden_session=' + 'P'.repeat(43) }, body: JSON.stringify({ key: h.adminKey }) });
  await planted.arrayBuffer();
  assert.ok(!(planted.headers.get('set-cookie') ?? '').includes('P'.repeat(43)), 'a planted id is never adopted');
});

void test('sign-out ends the session and clears the cookie', async () => {
  const { cookie, csrf } = await signIn(h);
  const res = await h.fetch('/_warden/api/session', { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(res.status, 204);
  assert.match(res.headers.get('set-cookie') ?? '', /warden_session=;.*Max-Age=0/);
  assert.equal((await h.fetch('/_warden/api/keys', { headers: { cookie } })).status, 401);
});

void test('revoking the admin key behind a session ends that session', async () => {
  const extra = await h.keyService.create({ name: 'second-admin', scopes: ['admin'] }, 'cli');
  const { cookie } = await signIn(h, extra.key);
  assert.equal((await h.fetch('/_warden/api/keys', { headers: { cookie } })).status, 200);
  await h.keyService.revoke(extra.record.id, 'cli');
  assert.equal((await h.fetch('/_warden/api/keys', { headers: { cookie } })).status, 401);
});

void test('every admin answer carries the CSP and no-store headers, including errors', async () => {
  const paths: Array<[string, string]> = [['GET', '/_warden/api/keys'], ['GET', '/_warden/api/status'], ['GET', '/_warden/api/nope'], ['PUT', '/_warden/api/keys'], ['GET', '/_warden/'], ['GET', '/_warden/api/keys/key_doesnotexist']];
  for (const [method, p] of paths) {
    const res = await h.fetch(p, { method, headers: { authorization: `Bearer ${h.adminKey}` } });
    await res.arrayBuffer();
    assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, p);
    assert.equal(res.headers.get('cache-control'), 'no-store', p);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', p);
  }
});

void test('sign-in brute force: the 11th attempt in a minute from one address gets 429 with Retry-After', async () => {
  clock += 61_000; // a fresh window
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 11; i++) {
    const res = await h.fetch('/_warden/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'owk_nope' }) });
    statuses.push(res.status);
    retryAfter = res.headers.get('retry-after');
    await res.arrayBuffer();
  }
  assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
  assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
  // Even the right key waits: the limit is on attempts, not on failures.
  const blocked = await signIn(h);
  assert.equal(blocked.res.status, 429);
  clock += 61_000;
  assert.equal((await signIn(h)).res.status, 200);
});
