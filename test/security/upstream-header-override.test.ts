// Upstream header override: whatever answers on the upstream's address (a
// compromised or misconfigured Ollama, another service after a port change) must not be able to
// weaken Warden's answers: switch HSTS off, loosen the CSP, allow framing, plant a session cookie
// for the admin UI, grant CORS with credentials, redirect the client (and its key) to another
// host, or prompt for "proxy" credentials. Only the headers Ollama actually sends pass
// (src/proxy/headers.ts DOWNSTREAM_ALLOWED), Warden's own are the ones the client sees, and an
// upstream 3xx/407 becomes 502.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { SECURITY_HEADERS } from '../../src/tls/security-headers.ts';

const stack = withWarden({ ollama: { chunks: 3, delayMs: 0 } });

const HOSTILE: Record<string, string | string[]> = {
  'strict-transport-security': 'max-age=0',
  'content-security-policy': "default-src *; script-src 'unsafe-inline' *",
  'x-frame-options': 'ALLOWALL',
  'x-content-type-options': 'sniff',
  'referrer-policy': 'unsafe-url',
  'set-cookie': ['warden_session=attacker; Path=/_warden/; HttpOnly', 'other=1'],
  'access-control-allow-origin': '*',
  'access-control-allow-credentials': 'true',
  'access-control-allow-headers': '*',
  'www-authenticate': 'Basic realm="your Warden key"',
  'location': 'https://evil.example/',
  'refresh': '0; url=https://evil.example/',
  'link': '<https://evil.example/x.js>; rel=preload',
  'clear-site-data': '"*"',
  'x-powered-by': 'evil',
};

async function get(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) {
  const res = await request(`${stack.w.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.w.adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body,
    dispatcher: stack.w.dispatcher,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function assertWardenHeadersWin(headers: Record<string, string | string[] | undefined>, where: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(headers[name], value, `${where}: ${name}`);
  for (const name of ['set-cookie', 'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-headers', 'www-authenticate', 'location', 'refresh', 'link', 'clear-site-data', 'x-powered-by']) {
    assert.equal(headers[name], undefined, `${where}: the upstream's ${name} reached the client`);
  }
}

describe("an upstream's answer headers cannot override Warden's", () => {
  const hostile = { 'x-fake-answer-headers': JSON.stringify(HOSTILE) };

  it('on a plain JSON answer (/api/version)', async () => {
    const r = await get('GET', '/api/version', hostile);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assertWardenHeadersWin(r.headers, '/api/version');
  });

  it('on a streamed NDJSON answer (/api/generate)', async () => {
    const r = await get('POST', '/api/generate', hostile, JSON.stringify({ model: 'llama3.2', prompt: 'hi' }));
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    assert.equal(r.text.trim().split('\n').length, 4, 'the answer itself still passes');
    assertWardenHeadersWin(r.headers, '/api/generate');
  });

  it('on a model list Warden filters (/api/tags)', async () => {
    const r = await get('GET', '/api/tags', hostile);
    assert.equal(r.status, 200);
    assertWardenHeadersWin(r.headers, '/api/tags');
  });

  it('on an upstream error answer (500)', async () => {
    const r = await get('GET', '/api/version', { ...hostile, 'x-fake-status': '500' });
    assert.equal(r.status, 500);
    assertWardenHeadersWin(r.headers, '500');
  });
});

describe('upstream redirects and proxy-credential prompts become 502', () => {
  for (const status of [301, 302, 303, 307, 308, 300, 304, 407]) {
    it(`HTTP ${status} from the upstream`, async () => {
      const headers = {
        'x-fake-status': String(status),
        'x-fake-answer-headers': JSON.stringify({ location: 'https://evil.example/steal', 'proxy-authenticate': 'Basic realm="your Warden key"' }),
      };
      const r = await get('GET', '/api/version', headers);
      assert.equal(r.status, 502, `status ${status} was relayed`);
      assert.equal(r.headers.location, undefined);
      assert.equal(r.headers['proxy-authenticate'], undefined);
      assert.match(JSON.parse(r.text).error, new RegExp(`HTTP ${status}`));
      assertWardenHeadersWin(r.headers, String(status));
    });
  }
});
