// CORS preflights and grants at the HTTP level (the browser test is
// test/ui/cors-browser.test.ts): Warden answers preflights itself before authentication for
// cors.origins, allows Authorization and X-API-Key, never allows credentials, never forwards the
// preflight, and an allowed origin's answers carry Access-Control-Allow-Origin — Warden's own,
// whatever the upstream sends.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { compileCors } from '../../src/server/cors.ts';
import { DEFAULT_CORS_ORIGINS, configSchema } from '../../src/config/schema.ts';

const ALLOWED = 'https://chat.example.com';

const stack = withWarden({ ollama: { chunks: 2, delayMs: 0 }, env: { WARDEN_CORS_ORIGINS: `${ALLOWED},http://*.lan.example:*` } });

async function call(method: string, path: string, headers: Record<string, string>) {
  const res = await request(`${stack.w.url}${path}`, { method: method as 'GET', headers, dispatcher: stack.w.dispatcher });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const preflight = (origin: string, extra: Record<string, string> = {}) =>
  call('OPTIONS', '/api/chat', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-api-key', ...extra });

describe('CORS preflights', () => {
  it('are answered by Warden for an allowed origin, without a key, and never reach Ollama', async () => {
    const before = stack.fake.requests.length;
    const r = await preflight(ALLOWED);
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], ALLOWED);
    const allowed = String(r.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/);
    for (const h of ['authorization', 'x-api-key', 'content-type']) assert.ok(allowed.includes(h), `${h} not allowed`);
    assert.match(String(r.headers['access-control-allow-methods']), /POST/);
    assert.equal(r.headers['access-control-allow-credentials'], undefined, 'credentials must never be allowed');
    assert.match(String(r.headers.vary), /Origin/);
    assert.equal(stack.fake.requests.length, before);
  });

  it('match wildcard origins on the host and the port only', async () => {
    assert.equal((await preflight('http://gpu.lan.example:3000')).status, 204);
    for (const o of ['http://gpu.lan.example.evil.com:3000', 'http://evil.com:1.lan.example:3000', 'https://gpu.lan.example:3000', 'http://localhost:3000', 'null']) {
      const r = await preflight(o);
      assert.equal(r.status, 403, `${o} was allowed`);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
  });

  it('from an origin not listed get 403 and are audited, never forwarded', async () => {
    const before = stack.fake.requests.length;
    const r = await preflight('https://evil.example');
    assert.equal(r.status, 403);
    assert.match(JSON.parse(r.text).error, /cors\.origins/);
    assert.equal(stack.fake.requests.length, before);
  });

  it('to the admin API are never granted', async () => {
    const r = await call('OPTIONS', '/_warden/api/keys', { origin: ALLOWED, 'access-control-request-method': 'POST' });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });
});

describe('answers to an allowed origin', () => {
  it("carry Warden's Access-Control-Allow-Origin (not the upstream's) and no credentials grant", async () => {
    const r = await call('GET', '/api/version', {
      origin: ALLOWED,
      authorization: `Bearer ${stack.w.adminKey}`,
      'x-fake-answer-headers': JSON.stringify({ 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' }),
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
  });

  it('include Warden\'s own refusals, so a page can show "401"', async () => {
    const r = await call('GET', '/api/version', { origin: ALLOWED, authorization: 'Bearer owk_nope' });
    assert.equal(r.status, 401);
    assert.equal(r.headers['access-control-allow-origin'], ALLOWED);
  });

  it('are not granted to other origins', async () => {
    const r = await call('GET', '/api/version', { origin: 'https://evil.example', authorization: `Bearer ${stack.w.adminKey}` });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });
});

describe('cors.origins', () => {
  it("defaults to Ollama's allowed origins", () => {
    const cors = compileCors(DEFAULT_CORS_ORIGINS);
    for (const o of ['http://localhost', 'http://localhost:5173', 'https://127.0.0.1:8443', 'http://0.0.0.0:3000', 'app://-', 'tauri://localhost', 'vscode-webview://1a2b3c', 'chrome-extension://abcdefghijklmnop', 'moz-extension://1234-5678']) {
      assert.ok(cors.allows(o), `${o} should be allowed`);
    }
    for (const o of ['https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io:80', 'http://[::1]:3000', 'null']) {
      assert.ok(!cors.allows(o), `${o} should not be allowed`);
    }
  });

  it('refuses an entry that is not an origin, naming the field', () => {
    for (const bad of ['https://app.example.com/', 'app.example.com', 'https://app.example.com/path', '']) {
      const r = configSchema.safeParse({ cors: { origins: [bad] } });
      assert.equal(r.success, false, `${JSON.stringify(bad)} was accepted`);
      assert.deepEqual(r.error.issues[0]?.path, ['cors', 'origins', 0]);
    }
  });
});
