// The admin JSON API's operations (keys, certificates, audit, settings, status, static files)
// over a real HTTPS listener and a real SQLite store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './helpers.ts';
import { keyToJson } from '../../src/admin/serialize.ts';
import { readConfigFile, validateConfig, deepMerge } from '../../src/config/load.ts';
import { isWardenError } from '../../src/errors.ts';
import { parseDuration, parseExpiry, parsePositiveInt } from '../../src/cli/duration.ts';

let h: Harness;
const webRoot = mkdtempSync(join(tmpdir(), 'warden-web-'));

before(async () => {
  mkdirSync(join(webRoot, 'assets'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><script type="module" src="/_warden/assets/index-AbC123.js"></script>');
  writeFileSync(join(webRoot, 'assets', 'index-AbC123.js'), 'console.log(1)');
  h = await startHarness({ webRoot });
});
after(async () => {
  await h.close();
  rmSync(webRoot, { recursive: true, force: true });
});

const json = { 'content-type': 'application/json' };
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> & Array<Record<string, unknown>>; text: string }> {
  const res = await h.fetch(`/_warden/api${path}`, {
    method,
    headers: { authorization: `Bearer ${h.adminKey}`, ...(body === undefined ? {} : json) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

void test('keys: the secret is in the create answer only, rotation replaces it, revocation stops it', async () => {
  const created = await api('POST', '/keys', { name: 'laptop', scopes: ['inference'], models: 'llama3.*, qwen2.5:*', rpm: '60', expires: '30d' });
  assert.equal(created.status, 201);
  const key = created.body.key as string;
  assert.match(key, /^owk_/);
  assert.deepEqual(created.body.models, ['llama3.*', 'qwen2.5:*']);
  assert.equal(created.body.rpm, 60);
  assert.ok(Date.parse(created.body.expiresAt as string) > Date.now() + 29 * 86_400_000);
  const id = created.body.id as string;

  // The same shape as the CLI's (keyToJson), plus `key` only here.
  const rec = await h.store.keys.get(id);
  assert.deepEqual(Object.keys(created.body).sort(), [...Object.keys(keyToJson(rec!)), 'key'].sort());

  const list = await api('GET', '/keys');
  assert.ok(!list.text.includes(key), 'list never shows a secret');
  assert.ok(!list.text.includes('secretHash') && !list.text.includes(rec!.secretHash), 'nor a hash');
  assert.equal(list.body.find((k) => k.id === id)?.state, 'active');

  assert.ok(await h.deps.authenticateKey(key));
  const rotated = await api('POST', `/keys/${id}/rotate`, { grace: '1h' });
  assert.equal(rotated.status, 200);
  const key2 = rotated.body.key as string;
  assert.notEqual(key2, key);
  assert.ok(rotated.body.graceUntil, 'grace period shown');
  assert.ok(await h.deps.authenticateKey(key), 'old secret works during the grace period');
  assert.ok(await h.deps.authenticateKey(key2));

  const edited = await api('PATCH', `/keys/${id}`, { scopes: ['inference', 'models:read'], rpm: null, name: 'laptop-2' });
  assert.equal(edited.status, 200);
  assert.equal(edited.body.rpm, null);
  assert.equal(edited.body.name, 'laptop-2');

  const revoked = await api('POST', `/keys/${id}/revoke`, {});
  assert.equal(revoked.body.state, 'revoked');
  assert.equal(await h.deps.authenticateKey(key2), null);
  const proxied = await h.fetch('/api/tags', { headers: { authorization: `Bearer ${key2}` } });
  assert.equal(proxied.status, 401);
  await proxied.arrayBuffer();

  assert.equal((await api('DELETE', `/keys/${id}`)).status, 204);
  assert.equal((await api('GET', `/keys/${id}`)).status, 404);
});

void test('bad key form values get the same field-named message as the CLI (the key service)', async () => {
  const cases: Array<{ body: Record<string, unknown>; field: string }> = [
    { body: { name: 'x', rpm: -5 }, field: 'rpm' },
    { body: { name: 'x', rpm: 'abc' }, field: 'rpm' },
    { body: { name: 'x', scopes: ['root'] }, field: 'scope' },
    { body: { name: 'x', expires: 'next tuesday' }, field: 'expires' },
    { body: { name: '' }, field: 'name' },
    { body: { name: 'x', colour: 'red' }, field: 'colour' },
  ];
  for (const c of cases) {
    const res = await api('POST', '/keys', c.body);
    assert.equal(res.status, 400, JSON.stringify(c.body));
    assert.equal(res.body.field, c.field, `got ${res.body.field}, want ${c.field} (${res.body.error})`);
    assert.ok((res.body.error as string).startsWith(`${c.field}: `), res.body.error as string);
  }
  // Exactly the key service's words, which the CLI prints.
  const viaApi = await api('POST', '/keys', { name: 'x', rpm: -5 });
  await assert.rejects(h.keyService.create({ name: 'x', rpm: -5 }, 'cli'), (err) => isWardenError(err) && err.message === viaApi.body.error);
  // And the CLI's own flag parser's words for what it parses itself (minus the leading "--").
  const cliCases: Array<[Record<string, unknown>, () => unknown]> = [
    [{ name: 'x', expires: 'next tuesday' }, () => parseExpiry('next tuesday', 'expires')],
    [{ name: 'x', rpm: 'abc' }, () => parsePositiveInt('abc', 'rpm')],
  ];
  for (const [body, cli] of cliCases) {
    const res = await api('POST', '/keys', body);
    assert.throws(cli, (err: Error) => err.message === res.body.error, `API said ${String(res.body.error)}`);
  }
  const grace = await api('POST', `/keys/${h.adminKeyId}/rotate`, { grace: 'a while' });
  assert.throws(() => parseDuration('a while', 'grace'), (err: Error) => err.message === grace.body.error);
});

void test('keys: caps are created and PATCHed field by field, null clears one, caps: null clears all', async () => {
  const created = await api('POST', '/keys', { name: 'capped', caps: { numCtx: 4096, keepAlive: '30m' } });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.caps, { numCtx: 4096, numPredict: null, keepAlive: 1800 });
  const id = created.body.id as string;

  const patched = await api('PATCH', `/keys/${id}`, { caps: { numPredict: '256' } });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.body.caps, { numCtx: 4096, numPredict: 256, keepAlive: 1800 }, 'fields not named keep their value');
  const rec = await h.store.keys.get(id);
  assert.deepEqual([rec?.capNumCtx, rec?.capNumPredict, rec?.capKeepAlive], [4096, 256, 1800], 'stored');

  const seconds = await api('PATCH', `/keys/${id}`, { caps: { numCtx: null, keepAlive: 90 } });
  assert.deepEqual(seconds.body.caps, { numCtx: null, numPredict: 256, keepAlive: 90 });
  assert.deepEqual((await api('GET', `/keys/${id}`)).body.caps, { numCtx: null, numPredict: 256, keepAlive: 90 });

  const cleared = await api('PATCH', `/keys/${id}`, { caps: null });
  assert.deepEqual(cleared.body.caps, { numCtx: null, numPredict: null, keepAlive: null });
  assert.equal((await h.store.keys.get(id))?.capNumPredict, null);
  assert.equal((await api('DELETE', `/keys/${id}`)).status, 204);
});

void test('bad caps get a 400 naming the field, in the key service\'s words', async () => {
  const cases: Array<{ caps: unknown; field: string }> = [
    { caps: { numCtx: -1 }, field: 'max-ctx' },
    { caps: { numCtx: 1.5 }, field: 'max-ctx' },
    { caps: { numPredict: 'lots' }, field: 'max-predict' },
    { caps: { numPredict: 2 ** 31 }, field: 'max-predict' },
    { caps: { keepAlive: 0 }, field: 'max-keep-alive' },
    { caps: { keepAlive: 'forever' }, field: 'max-keep-alive' },
    { caps: { keepAlive: -1 }, field: 'max-keep-alive' },
    { caps: { numCTX: 5 }, field: 'caps.numCTX' },
    { caps: 8192, field: 'caps' },
  ];
  for (const c of cases) {
    const res = await api('PATCH', `/keys/${h.adminKeyId}`, { caps: c.caps });
    assert.equal(res.status, 400, JSON.stringify(c.caps));
    assert.equal(res.body.field, c.field, `got ${res.body.field}, want ${c.field} (${res.body.error})`);
  }
  const viaApi = await api('POST', '/keys', { name: 'x', caps: { numCtx: -1 } });
  await assert.rejects(h.keyService.create({ name: 'x', capNumCtx: -1 }, 'cli'), (err) => isWardenError(err) && err.message === viaApi.body.error);
  assert.deepEqual((await api('GET', `/keys/${h.adminKeyId}`)).body.caps, { numCtx: null, numPredict: null, keepAlive: null }, 'nothing was changed');
});

void test('client certificates: issue returns the bundle once, list shows it, revoke marks it', async () => {
  const issued = await api('POST', '/certs', { name: 'phone', days: 30 });
  assert.equal(issued.status, 201);
  assert.ok((issued.body.bundle as string).length > 100);
  assert.match(issued.body.certPem as string, /BEGIN CERTIFICATE/);
  const cert = issued.body.certificate as { serial: string; state: string };
  assert.equal(cert.state, 'active');
  const list = await api('GET', '/certs');
  assert.ok(!list.text.includes('PRIVATE KEY'), 'the list never carries a private key');
  assert.equal(list.body.length, 1);
  const revoked = await api('POST', `/certs/phone/revoke`, {});
  assert.equal(revoked.body.state, 'revoked');
  const bad = await api('POST', '/certs', { name: '../etc/passwd' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'name');
});

void test('audit: filters by key, status class, path and time, newest first, paged', async () => {
  const base = Date.now() - 3600_000;
  const ev = (i: number, status: number, path: string, keyId: string | null) => ({
    time: new Date(base + i * 1000), id: `req-${i}`, kind: 'request', keyId, keyName: null, authMethod: 'bearer', clientAddress: '127.0.0.1',
    tlsVersion: 'TLSv1.3', clientCertSubject: null, method: 'POST', path, model: 'llama3', status, durationMs: 5, bytesIn: 1, bytesOut: 2,
    promptTokens: null, evalTokens: null, reason: null, actor: null,
  });
  await h.store.audit.insert([ev(1, 200, '/api/chat', 'key_a'), ev(2, 403, '/api/pull', 'key_a'), ev(3, 401, '/api/chat', null), ev(4, 200, '/v1/models', 'key_b'), ev(5, 200, '/api/chat', 'key_b')]);
  const q = async (qs: string) => {
    const res = await api('GET', `/audit?kind=request&${qs}`);
    assert.equal(res.status, 200, `${qs}: ${res.text}`);
    return res.body as unknown as { events: Array<{ id: string }>; next: string | null };
  };
  const cases: Array<[string, string[]]> = [
    ['', ['req-5', 'req-4', 'req-3', 'req-2', 'req-1']],
    ['key=key_a', ['req-2', 'req-1']],
    ['status=4', ['req-3', 'req-2']],
    ['status=2xx&path=/api/', ['req-5', 'req-1']],
    [`since=${new Date(base + 3500).toISOString()}`, ['req-5', 'req-4']],
    [`until=${new Date(base + 2500).toISOString()}`, ['req-2', 'req-1']],
  ];
  for (const [qs, want] of cases) assert.deepEqual((await q(qs)).events.map((e) => e.id), want, qs);
  const page1 = await q('limit=2');
  assert.deepEqual(page1.events.map((e) => e.id), ['req-5', 'req-4']);
  assert.ok(page1.next);
  const page2 = await q(`limit=2&before=${encodeURIComponent(page1.next!)}`);
  assert.deepEqual(page2.events.map((e) => e.id), ['req-3', 'req-2']);
  const bad = await api('GET', '/audit?status=teapot');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'status');
});

void test('settings: validated like warden.yaml, written back, restart needed reported', async () => {
  const before = readFileSync(h.configFile, 'utf8');
  const bad = await api('PATCH', '/settings', { tls: { minVersion: '1.0' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'WARDEN_ERR_CONFIG_INVALID');
  assert.equal(bad.body.field, 'tls.minVersion');
  // The exact message start-up gives for the same file content.
  let fileMessage = '';
  try {
    validateConfig(deepMerge(readConfigFile(h.configFile), { tls: { minVersion: '1.0' } }));
  } catch (err) {
    fileMessage = (err as Error).message;
  }
  assert.equal(bad.body.error, fileMessage);
  assert.equal(readFileSync(h.configFile, 'utf8'), before, 'nothing written on a bad value');

  const notEditable = await api('PATCH', '/settings', { store: { url: 'sqlite:/tmp/x.db' } });
  assert.equal(notEditable.status, 400);
  assert.equal(notEditable.body.field, 'store');

  const ok = await api('PATCH', '/settings', { tls: { minVersion: '1.2', clientAuth: 'optional' }, audit: { enabled: false } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body.restartNeeded, ['tls.clientAuth', 'tls.minVersion']);
  const written = readFileSync(h.configFile, 'utf8');
  assert.match(written, /# test config/, 'comments are kept');
  assert.match(written, /minVersion: "?1\.2"?/);
  const got = await api('GET', '/settings');
  assert.equal((got.body.settings as { tls: { minVersion: string } }).tls.minVersion, '1.2');
  assert.deepEqual(got.body.restartNeeded, ['tls.clientAuth', 'tls.minVersion']);
});

void test('status, connections and request rate come from the server as they are', async () => {
  const status = await api('GET', '/status');
  assert.deepEqual(status.body, JSON.parse(JSON.stringify(h.statusObject)));
  const conns = await api('GET', '/connections');
  assert.equal(conns.body[0]?.tlsVersion, 'TLSv1.3');
  assert.equal(typeof conns.body[0]?.since, 'string');
  const rate = await api('GET', '/request-rate');
  assert.equal(rate.body.length, 60);
});

void test('errors never carry a stack trace: bad JSON, a bug in a dependency', async () => {
  const badJson = await h.fetch('/_warden/api/keys', { method: 'POST', headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json' }, body: '{"name":' });
  const t1 = await badJson.text();
  assert.equal(badJson.status, 400);
  assert.equal((JSON.parse(t1) as { code: string }).code, 'WARDEN_ERR_BAD_REQUEST');
  const original = h.deps.requestRate;
  h.deps.requestRate = () => {
    throw new Error('secret internal detail at /home/warden/src/x.ts:12');
  };
  try {
    const res = await h.fetch('/_warden/api/request-rate', { headers: { authorization: `Bearer ${h.adminKey}` } });
    const t2 = await res.text();
    assert.equal(res.status, 500);
    assert.deepEqual(JSON.parse(t2), { error: 'internal error', code: 'WARDEN_ERR_INTERNAL' });
  } finally {
    h.deps.requestRate = original;
  }
});

void test('static UI: index.html for app routes (no-store), hashed assets cached for a year, no traversal', async () => {
  for (const p of ['/_warden/', '/_warden/keys', '/_warden/audit']) {
    const res = await h.fetch(p);
    assert.equal(res.status, 200, p);
    assert.match(await res.text(), /index-AbC123\.js/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  }
  const asset = await h.fetch('/_warden/assets/index-AbC123.js');
  assert.equal(await asset.text(), 'console.log(1)');
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
  for (const p of ['/_warden/assets/../index.html', '/_warden/assets/%2e%2e/%2e%2e/package.json', '/_warden/../../etc/passwd']) {
    const res = await h.fetch(p);
    const body = await res.text();
    assert.ok(res.status === 404 || !body.includes('root:'), `${p}: ${res.status}`);
  }
  const unknownApi = await h.fetch('/_warden/api/nothing-here', { headers: { authorization: `Bearer ${h.adminKey}` } });
  assert.equal(unknownApi.status, 404);
  assert.equal(((await unknownApi.json()) as { code: string }).code, 'WARDEN_ERR_ROUTE_NOT_FOUND');
});

void test('Fastify\'s own request errors answer in the admin shape with one code per status', async () => {
  const auth = { authorization: `Bearer ${h.adminKey}` };
  const wrongType = await h.fetch('/_warden/api/keys', { method: 'POST', headers: { ...auth, 'content-type': 'application/xml' }, body: '<name>x</name>' });
  assert.equal(wrongType.status, 415);
  const wt = (await wrongType.json()) as { error: string; code: string };
  assert.equal(wt.code, 'WARDEN_ERR_UNSUPPORTED_MEDIA_TYPE');
  assert.ok(wt.error.length > 0);
  const badJson = await h.fetch('/_warden/api/keys', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"name":' });
  assert.equal(badJson.status, 400);
  assert.equal(((await badJson.json()) as { code: string }).code, 'WARDEN_ERR_BAD_REQUEST');
});

void test('settings: a TLS file the server could not start with is refused on the field it is about', async () => {
  const missing = join(webRoot, 'no-such-cert.pem');
  const bad = await api('PATCH', '/settings', { tls: { mode: 'files', cert: missing, key: join(webRoot, 'no-such-key.pem') } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.code, 'WARDEN_ERR_CONFIG_INVALID');
  assert.equal(bad.body.field, 'tls.cert');
  assert.equal(bad.body.error, `config: tls.cert: ${missing}: file not found`);
});
