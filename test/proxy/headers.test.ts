// Header rewriting between client and Ollama (src/proxy/headers.ts), both ways, as pure functions.
// The same rules end to end, through a real gateway and fake Ollama: test/security/upstream-header-override.test.ts
// and test/security/credential-confusion.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOWNSTREAM_ALLOWED, downstreamHeaders, refusedUpstreamStatus, upstreamHeaders, type UpstreamHeaderContext } from '../../src/proxy/headers.ts';

const CTX: UpstreamHeaderContext = { upstreamHost: '127.0.0.1:11434', clientAddress: '192.0.2.7', proto: 'https' };

/** Runs upstreamHeaders on raw header pairs as Node would give them; returns name → values. */
function up(raw: string[], ctx: UpstreamHeaderContext = CTX): Map<string, string[]> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] = raw[i + 1]!;
  const flat = upstreamHeaders(raw, headers, ctx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, [...(out.get(flat[i]!) ?? []), flat[i + 1]!]);
  return out;
}

test('credentials and cookies never go upstream', () => {
  const h = up(['Authorization', 'Bearer owk_x', 'X-API-Key', 'owk_y', 'Cookie', 'warden_session=s', 'Proxy-Authorization', 'Basic eA==']);
  for (const name of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization']) assert.ok(!h.has(name), name);
});

test("Host becomes the upstream's; X-Forwarded-* are Warden's, never the client's", () => {
  const h = up(['Host', 'warden.example:11443', 'X-Forwarded-For', '10.0.0.1', 'Forwarded', 'for=10.0.0.1', 'X-Real-IP', '10.0.0.1', 'X-Forwarded-Proto', 'http']);
  assert.deepEqual(h.get('host'), ['127.0.0.1:11434']);
  assert.deepEqual(h.get('x-forwarded-for'), ['192.0.2.7']);
  assert.deepEqual(h.get('x-forwarded-proto'), ['https']);
  assert.deepEqual(h.get('x-forwarded-host'), ['warden.example:11443']);
  assert.ok(!h.has('forwarded') && !h.has('x-real-ip'));
});

test('hop-by-hop headers, and those the Connection header names, are dropped', () => {
  const h = up(['Connection', 'keep-alive, X-Secret-Hop', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Upgrade', 'websocket', 'X-Secret-Hop', '1', 'Proxy-Foo', 'bar', 'X-Kept', 'yes']);
  for (const name of ['connection', 'keep-alive', 'te', 'upgrade', 'x-secret-hop', 'proxy-foo']) assert.ok(!h.has(name), name);
  assert.deepEqual(h.get('x-kept'), ['yes']);
});

test('repeated end-to-end headers keep their order; Content-Length and encoding are set by Warden', () => {
  const h = up(['Accept', 'a', 'Accept', 'b', 'Content-Length', '999', 'Accept-Encoding', 'gzip', 'Expect', '100-continue'], { ...CTX, contentLength: 12 });
  assert.deepEqual(h.get('accept'), ['a', 'b']);
  assert.deepEqual(h.get('content-length'), ['12']);
  assert.deepEqual(h.get('accept-encoding'), ['identity']);
  assert.ok(!h.has('expect'));
  assert.ok(!up(['Content-Length', '5']).has('content-length'), 'no declared length: undici computes it from the body');
});

test('downstream: only the allow-listed headers of an answer reach the client', () => {
  const got = downstreamHeaders(
    {
      'Content-Type': 'application/json',
      'content-length': '42',
      date: 'x',
      'strict-transport-security': 'max-age=0',
      'set-cookie': ['warden_session=evil'],
      'access-control-allow-origin': '*',
      'www-authenticate': 'Basic',
      'retry-after': '3',
      'x-unlisted': undefined,
    },
    false,
  );
  assert.deepEqual(got, { 'content-type': 'application/json', 'content-length': '42', date: 'x', 'retry-after': '3' });
  assert.deepEqual(DOWNSTREAM_ALLOWED.toSorted(), ['cache-control', 'content-encoding', 'content-length', 'content-type', 'date', 'retry-after']);
});

test('downstream: Content-Length is dropped when Warden changes the body', () => {
  assert.deepEqual(downstreamHeaders({ 'content-type': 'application/json', 'content-length': '42' }, true), { 'content-type': 'application/json' });
});

test('redirects and 407 from upstream are never relayed; other statuses are', () => {
  for (const s of [300, 301, 302, 303, 307, 308, 399, 407]) assert.equal(refusedUpstreamStatus(s), true, String(s));
  for (const s of [200, 204, 400, 401, 404, 429, 500, 503]) assert.equal(refusedUpstreamStatus(s), false, String(s));
});
