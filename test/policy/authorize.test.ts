// authorize() and filterModelList() against docs/design.md §4. Routes come from the real compiled table
// and bodies are parsed from JSON text, as the request path does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, filterModelList, type AuthorizeKey, type PolicyConfig } from '../../src/policy/authorize.ts';
import { compileModelPatterns } from '../../src/policy/models.ts';
import { compileRoutes } from '../../src/policy/routes.ts';
import { ErrorCode, WardenError } from '../../src/errors.ts';
import { generateKey } from '../../src/auth/key-format.ts';
import { ANY_REGISTRY, DEFAULT_REGISTRIES } from '../../src/config/schema.ts';

const DEFAULT_POLICY: PolicyConfig = { allowAccountRoutes: false, allowInsecureRegistries: false, allowServerTools: false, allowRemoteModels: false, registries: [...DEFAULT_REGISTRIES] };
const OPEN_POLICY: PolicyConfig = { allowAccountRoutes: true, allowInsecureRegistries: true, allowServerTools: true, allowRemoteModels: true, registries: [ANY_REGISTRY] };

const key = (scopes: string[], models: string[] = []): AuthorizeKey => ({ scopes: new Set(scopes), models: compileModelPatterns(models) });
const inferenceOnly = key(['inference', 'models:read']);
const llamaOnly = key(['inference', 'models:read', 'models:manage'], ['llama3.*']);
const manager = key(['inference', 'models:read', 'models:manage']);
const admin = key(['inference', 'models:read', 'models:manage', 'admin']);

type Want = { ok: true; model?: string | null } | { ok: false; status: number; code: string };

const cases: Array<{
  name: string;
  method: string;
  path: string;
  key: AuthorizeKey | null;
  body?: string;
  policy?: PolicyConfig;
  want: Want;
}> = [
  { name: 'an inference key may chat with any model when it has no patterns', method: 'POST', path: '/api/chat', key: inferenceOnly, body: '{"model":"qwen2.5:7b","messages":[]}', want: { ok: true, model: 'qwen2.5:7b' } },
  { name: 'a key without models:manage cannot pull (scope check → 403)', method: 'POST', path: '/api/pull', key: inferenceOnly, body: '{"model":"llama3.2"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_SCOPE } },
  { name: 'a key without models:manage cannot delete models', method: 'DELETE', path: '/api/delete', key: inferenceOnly, body: '{"model":"llama3.2"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_SCOPE } },
  { name: 'a key without models:manage cannot upload blobs', method: 'POST', path: `/api/blobs/sha256:${'a'.repeat(64)}`, key: inferenceOnly, want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_SCOPE } },
  { name: 'a models:read-only key cannot run inference', method: 'POST', path: '/api/generate', key: key(['models:read']), body: '{"model":"llama3.2"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_SCOPE } },
  { name: 'a metrics key reaches /_warden/metrics', method: 'GET', path: '/_warden/metrics', key: key(['metrics']), want: { ok: true } },
  { name: 'no key at all passes only /_warden/health', method: 'GET', path: '/_warden/health', key: null, want: { ok: true } },
  { name: 'no key at all is refused elsewhere', method: 'GET', path: '/api/tags', key: null, want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_SCOPE } },
  { name: 'GET /api/tags needs only models:read', method: 'GET', path: '/api/tags', key: key(['models:read']), want: { ok: true, model: null } },

  // model patterns
  { name: 'a llama3.* key may use llama3.2 (native body)', method: 'POST', path: '/api/chat', key: llamaOnly, body: '{"model":"llama3.2","messages":[]}', want: { ok: true, model: 'llama3.2' } },
  { name: 'a llama3.* key may not use qwen2.5 (native body → 403)', method: 'POST', path: '/api/chat', key: llamaOnly, body: '{"model":"qwen2.5:7b","messages":[]}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: 'a llama3.* key may not use qwen2.5 (OpenAI body → 403)', method: 'POST', path: '/v1/chat/completions', key: llamaOnly, body: '{"model":"qwen2.5:7b","messages":[]}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: 'a llama3.* key may not embed with another model', method: 'POST', path: '/v1/embeddings', key: llamaOnly, body: '{"model":"nomic-embed-text","input":"x"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: 'a llama3.* key may not show another model (legacy name field)', method: 'POST', path: '/api/show', key: llamaOnly, body: '{"name":"qwen2.5:7b"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: 'a llama3.* key may not read another model on /v1/models/:model', method: 'GET', path: '/v1/models/qwen2.5:7b', key: llamaOnly, want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: 'a llama3.* key may read its model on /v1/models/:model', method: 'GET', path: '/v1/models/llama3.2:latest', key: llamaOnly, want: { ok: true, model: 'llama3.2:latest' } },
  { name: '/api/copy from a forbidden source is refused (copying a model out of reach)', method: 'POST', path: '/api/copy', key: llamaOnly, body: '{"source":"secret:latest","destination":"llama3.9"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: '/api/copy to a forbidden destination is refused', method: 'POST', path: '/api/copy', key: llamaOnly, body: '{"source":"llama3.2","destination":"other"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: '/api/create from a forbidden base model is refused', method: 'POST', path: '/api/create', key: llamaOnly, body: '{"model":"llama3.mine","from":"secret"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: 'a second model name smuggled in "name" is checked too', method: 'POST', path: '/api/pull', key: llamaOnly, body: '{"model":"llama3.2","name":"secret"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: 'a request naming no model is refused (400), never passed blind', method: 'POST', path: '/api/generate', key: llamaOnly, body: '{"prompt":"hi"}', want: { ok: false, status: 400, code: ErrorCode.BAD_REQUEST } },
  { name: 'a JSON route without a body is refused (400)', method: 'POST', path: '/api/chat', key: inferenceOnly, want: { ok: false, status: 400, code: ErrorCode.BAD_REQUEST } },
  { name: 'a JSON array body is refused (400)', method: 'POST', path: '/api/chat', key: inferenceOnly, body: '[{"model":"llama3.2"}]', want: { ok: false, status: 400, code: ErrorCode.BAD_REQUEST } },
  { name: 'a non-string model is refused (400)', method: 'POST', path: '/api/chat', key: llamaOnly, body: '{"model":{"$ne":"x"}}', want: { ok: false, status: 400, code: ErrorCode.BAD_REQUEST } },

  // cloud models and account routes
  { name: 'a cloud model (*-cloud) is refused by default: it spends the owner\'s ollama.com account', method: 'POST', path: '/api/chat', key: inferenceOnly, body: '{"model":"gpt-oss:120b-cloud"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: 'a cloud model (*:cloud) is refused on the OpenAI route too', method: 'POST', path: '/v1/chat/completions', key: inferenceOnly, body: '{"model":"kimi-k2:cloud"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: 'pulling a cloud model is refused by default', method: 'POST', path: '/api/pull', key: manager, body: '{"model":"gpt-oss:20b-cloud"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: 'a cloud model is allowed with policy.allowAccountRoutes', method: 'POST', path: '/api/chat', key: inferenceOnly, body: '{"model":"gpt-oss:120b-cloud"}', policy: OPEN_POLICY, want: { ok: true, model: 'gpt-oss:120b-cloud' } },
  { name: 'a cloud model still has to match the key\'s patterns', method: 'POST', path: '/api/chat', key: llamaOnly, body: '{"model":"gpt-oss:120b-cloud"}', policy: OPEN_POLICY, want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_MODEL } },
  { name: '/api/me is blocked by default even for an admin key', method: 'POST', path: '/api/me', key: admin, want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: '/debug/pprof is blocked by default', method: 'GET', path: '/debug/pprof/heap', key: admin, want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: '/api/signout is blocked by default (would sign the server out of ollama.com)', method: 'POST', path: '/api/signout', key: admin, want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },

  // insecure registries
  { name: 'pull with insecure: true is refused by default (plain-HTTP registry)', method: 'POST', path: '/api/pull', key: manager, body: '{"model":"llama3.2","insecure":true}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: 'push with insecure: true is refused by default', method: 'POST', path: '/api/push', key: manager, body: '{"model":"me/llama3.2","insecure":true}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: 'insecure given as a string is refused too', method: 'POST', path: '/api/pull', key: manager, body: '{"model":"llama3.2","insecure":"true"}', want: { ok: false, status: 403, code: ErrorCode.FORBIDDEN_POLICY } },
  { name: 'pull with insecure: false is fine', method: 'POST', path: '/api/pull', key: manager, body: '{"model":"llama3.2","insecure":false}', want: { ok: true, model: 'llama3.2' } },
  { name: 'pull with insecure: true is allowed with policy.allowInsecureRegistries', method: 'POST', path: '/api/pull', key: manager, body: '{"model":"llama3.2","insecure":true}', policy: OPEN_POLICY, want: { ok: true } },

  // request shape
  { name: 'a blob upload with a bad digest is refused with 400', method: 'POST', path: '/api/blobs/sha256:../../etc/passwd', key: manager, want: { ok: false, status: 400, code: ErrorCode.BAD_REQUEST } },
  { name: 'a key in the request body is refused (400)', method: 'POST', path: '/api/chat', key: inferenceOnly, body: `{"model":"llama3.2","api_key":"x"}`, want: { ok: false, status: 400, code: ErrorCode.AUTH_AMBIGUOUS } },
];

const table = compileRoutes({ allowAccountRoutes: false });
const openTable = compileRoutes({ allowAccountRoutes: true });

for (const c of cases) {
  test(c.name, () => {
    const policy = c.policy ?? DEFAULT_POLICY;
    const r = (policy.allowAccountRoutes ? openTable : table).lookup(c.method, c.path);
    assert.ok(r, `no route for ${c.method} ${c.path}`);
    const got = authorize(r, c.key, c.body === undefined ? undefined : JSON.parse(c.body), policy);
    assert.equal(!(got instanceof WardenError), c.want.ok, JSON.stringify(got));
    if (got instanceof WardenError && !c.want.ok) {
      assert.equal(got.status, c.want.status);
      assert.equal(got.code, c.want.code);
      assert.ok(got.message.length > 0);
      assert.doesNotMatch(got.message, /key_[0-9A-Za-z]{16}/, 'messages never name a key id');
    }
    if (!(got instanceof WardenError) && c.want.ok && c.want.model !== undefined) assert.equal(got.model, c.want.model);
  });
}

test('refusal messages never contain the key or its id', () => {
  const { id, key: secret } = generateKey();
  const r = table.lookup('POST', '/api/chat');
  assert.ok(r);
  const got = authorize(r, llamaOnly, { model: 'qwen2.5', messages: [{ role: 'user', content: secret }] }, DEFAULT_POLICY);
  assert.ok(got instanceof WardenError, 'the refusal is the program\'s one error type');
  if (got instanceof WardenError) {
    assert.equal(got.status, 400, 'a key in the body is refused as a credential in the body');
    for (const s of [got.message, got.reason]) {
      assert.ok(!s.includes(secret) && !s.includes(id));
    }
  }
});

const TAGS = {
  models: [
    { name: 'llama3.2:latest', model: 'llama3.2:latest', size: 1 },
    { name: 'qwen2.5:7b', model: 'qwen2.5:7b', size: 2 },
    { name: 'gpt-oss:120b-cloud', model: 'gpt-oss:120b-cloud', remote_host: 'https://ollama.com:443', size: 3 },
  ],
};
const V1 = { object: 'list', data: [{ id: 'llama3.2:latest', object: 'model' }, { id: 'qwen2.5:7b', object: 'model' }] };

test('/api/tags is filtered to the models the key may see', () => {
  const got = filterModelList('tags', TAGS, compileModelPatterns(['llama3.*'])) as typeof TAGS;
  assert.deepEqual(got.models.map((m) => m.name), ['llama3.2:latest']);
  assert.equal(TAGS.models.length, 3, 'the input is not mutated');
});

test('/api/ps is filtered the same way', () => {
  const got = filterModelList('ps', { models: [{ name: 'qwen2.5:7b', model: 'qwen2.5:7b' }] }, compileModelPatterns(['llama3.*'])) as typeof TAGS;
  assert.deepEqual(got.models, []);
});

test('/v1/models is filtered by id and keeps the list envelope', () => {
  const got = filterModelList('v1models', V1, compileModelPatterns(['qwen2.5:*'])) as typeof V1;
  assert.equal(got.object, 'list');
  assert.deepEqual(got.data.map((m) => m.id), ['qwen2.5:7b']);
});

test('cloud models are hidden from lists when the policy blocks them', () => {
  const got = filterModelList('tags', TAGS, compileModelPatterns([]), { hideCloud: true }) as typeof TAGS;
  assert.deepEqual(got.models.map((m) => m.name), ['llama3.2:latest', 'qwen2.5:7b']);
});

test('an unrestricted key sees the list unchanged', () => {
  assert.equal(filterModelList('tags', TAGS, compileModelPatterns([])), TAGS);
});

test('an unexpected list shape fails closed (empty list, never the raw input)', () => {
  assert.deepEqual(filterModelList('tags', { models: 'oops' }, compileModelPatterns(['x'])), { models: [] });
  assert.deepEqual(filterModelList('v1models', null, compileModelPatterns(['x'])), { object: 'list', data: [] });
  assert.deepEqual(filterModelList('tags', { models: [{ size: 1 }, 'x'] }, compileModelPatterns(['x'])), { models: [] });
});
