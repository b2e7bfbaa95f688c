// The route table against docs/design.md §4, row by row. Paths go through canonicalPath first, as in the
// request path, so "uppercase variant → 404" is tested end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPath } from '../../src/policy/path.ts';
import { WardenError } from '../../src/errors.ts';
import { compileRoutes, type RouteMatch } from '../../src/policy/routes.ts';

const strict = compileRoutes({ allowAccountRoutes: false });
const open = compileRoutes({ allowAccountRoutes: true });
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

function lookup(table: typeof strict, method: string, target: string): RouteMatch | null {
  const t = canonicalPath(target);
  if (t instanceof WardenError) return null;
  return table.lookup(method, t.path);
}

const allowed: Array<[string, string, string, Partial<RouteMatch>?]> = [
  // inference
  ['POST', '/api/generate', 'inference', { bodyKind: 'json', modelField: 'body' }],
  ['POST', '/api/chat', 'inference', { bodyKind: 'json', modelField: 'body' }],
  ['POST', '/api/embed', 'inference'],
  ['POST', '/api/embeddings', 'inference'],
  ['POST', '/v1/chat/completions', 'inference', { bodyKind: 'json', modelField: 'body' }],
  ['POST', '/v1/completions', 'inference'],
  ['POST', '/v1/embeddings', 'inference'],
  ['POST', '/v1/responses', 'inference'],
  ['POST', '/v1/messages', 'inference'],
  ['POST', '/v1/images/generations', 'inference'],
  ['POST', '/v1/images/edits', 'inference'],
  // models:read
  ['GET', '/', 'models:read'],
  ['HEAD', '/', 'models:read'],
  ['GET', '/api/version', 'models:read'],
  ['HEAD', '/api/version', 'models:read'],
  ['GET', '/api/tags', 'models:read', { filter: 'tags' }],
  ['HEAD', '/api/tags', 'models:read'],
  ['GET', '/api/ps', 'models:read', { filter: 'ps' }],
  ['HEAD', '/api/ps', 'models:read'],
  ['POST', '/api/show', 'models:read', { modelField: 'body' }],
  ['GET', '/v1/models', 'models:read', { filter: 'v1models' }],
  ['GET', '/v1/models/llama3.2', 'models:read', { modelField: 'path', params: { model: 'llama3.2' } }],
  ['GET', '/v1/models/llama3%3Alatest', 'models:read', { modelField: 'path', params: { model: 'llama3:latest' } }],
  ['HEAD', `/api/blobs/${DIGEST}`, 'models:read', { params: { digest: DIGEST }, invalid: null }],
  // models:manage
  ['POST', '/api/pull', 'models:manage', { checkInsecure: true }],
  ['POST', '/api/push', 'models:manage', { checkInsecure: true }],
  ['POST', '/api/create', 'models:manage', { modelFields: ['model', 'name', 'from'] }],
  ['POST', '/api/copy', 'models:manage', { modelFields: ['source', 'destination'] }],
  ['POST', `/api/blobs/${DIGEST}`, 'models:manage', { bodyKind: 'stream', modelField: 'none' }],
  ['DELETE', '/api/delete', 'models:manage', { modelField: 'body' }],
];

for (const [method, target, scope, extra] of allowed) {
  test(`${method} ${target} needs ${scope}`, () => {
    const r = lookup(strict, method, target);
    assert.ok(r, `got null, want a route`);
    assert.ok(r.scopes.includes(scope as never), `scopes ${r.scopes.join(',')}`);
    assert.equal(r.blocked, false);
    for (const [k, v] of Object.entries(extra ?? {})) assert.deepEqual(r[k as keyof RouteMatch], v, k);
  });
}

test('the admin API and UI are not in the table: the admin app enforces their scope (requireAdmin)', () => {
  for (const [method, path] of [['GET', '/_warden/api/status'], ['POST', '/_warden/api/keys'], ['GET', '/_warden/'], ['GET', '/_warden']] as const) {
    assert.equal(lookup(strict, method, path), null, `${method} ${path}`);
  }
});

test('GET /_warden/health is the only route that needs no credentials', () => {
  const r = lookup(strict, 'GET', '/_warden/health');
  assert.ok(r);
  assert.deepEqual([...r.scopes], []);
  assert.equal(r.handler, 'warden');
  assert.deepEqual([...(lookup(strict, 'GET', '/_warden/metrics')?.scopes ?? [])], ['admin', 'metrics']);
});

const unknown: Array<[string, string, string]> = [
  ['GET', '/api/chat', 'a known path with the wrong method is not a route'],
  ['GET', '/API/chat', 'an uppercase variant of a known route is not a route (/API/chat → 404)'],
  ['POST', '/Api/Generate', 'a mixed-case variant is not a route'],
  ['POST', '/api/chat/', 'a trailing slash is not a route'],
  ['PUT', '/api/pull', 'PUT is not a method of any route'],
  ['GET', '/api/unknown', 'an unlisted /api path is default-denied (404, never forwarded)'],
  ['POST', '/api/status', 'an unlisted upstream path is default-denied'],
  ['GET', '/metrics', 'an unlisted top-level path is default-denied'],
  ['HEAD', '/v1/models', 'HEAD /v1/models is not listed'],
  ['GET', '/api/blobs/' + DIGEST, 'GET on a blob is not listed (only HEAD and POST)'],
  ['DELETE', '/v1/models/llama3', 'DELETE on an OpenAI model is not listed'],
  ['GET', '/v1/models/', 'an empty model id is not a route'],
  ['TRACE', '/', 'TRACE is not a route'],
  ['CONNECT', '/', 'CONNECT is not a route'],
  ['OPTIONS', '/api/chat', 'OPTIONS is not a route'],
];
for (const [method, target, name] of unknown) {
  test(`${name}: ${method} ${target}`, () => {
    assert.equal(lookup(strict, method, target), null);
  });
}

test('a blob digest Ollama would not accept (manifest.BlobsPath: ^sha256[:-][0-9a-fA-F]{64}$) is marked invalid (400, never forwarded)', () => {
  for (const good of [`sha256:${'A'.repeat(64)}`, `sha256-${'a'.repeat(64)}`, `sha256-${'aF'.repeat(32)}`]) {
    assert.equal(lookup(strict, 'POST', `/api/blobs/${good}`)?.invalid, null, good);
  }
  for (const bad of ['sha256:abc', `sha512:${'a'.repeat(64)}`, `sha256_${'a'.repeat(64)}`, `sha256:${'a'.repeat(65)}`, `SHA256:${'a'.repeat(64)}`]) {
    const r = lookup(strict, 'POST', `/api/blobs/${bad}`);
    assert.ok(r, bad);
    assert.match(r.invalid ?? '', /sha256/, bad);
  }
});

const accountRoutes: Array<[string, string]> = [
  ['POST', '/api/me'],
  ['POST', '/api/signout'],
  ['GET', '/api/user/keys'],
  ['DELETE', '/api/user/keys/c3NoLWVkMjU1MTk'],
  ['POST', '/api/experimental/web_search'],
  ['GET', '/debug/pprof/heap'],
  ['GET', '/debug'],
];
for (const [method, target] of accountRoutes) {
  test(`account/debug route ${method} ${target} is blocked unless policy.allowAccountRoutes`, () => {
    const blocked = lookup(strict, method, target);
    assert.ok(blocked);
    assert.equal(blocked.blocked, true);
    const allowedNow = lookup(open, method, target);
    assert.ok(allowedNow);
    assert.equal(allowedNow.blocked, false);
    assert.ok(allowedNow.scopes.length > 0, 'still needs a scope when allowed');
  });
}

test('a path that only starts like an account route is not one (/api/meter)', () => {
  assert.equal(lookup(strict, 'POST', '/api/meter'), null);
  assert.equal(lookup(strict, 'GET', '/debugger'), null);
});

test('lookups of fixed routes return the same precompiled object (no per-request work)', () => {
  assert.equal(strict.lookup('POST', '/api/chat'), strict.lookup('POST', '/api/chat'));
});
