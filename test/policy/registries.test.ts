// policy.registries (src/policy/registries.ts): which registry hosts a model name may send Ollama
// to. The rule is tested through authorize() with the real route table and through the config
// schema that validates and canonicalises the list at start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, type AuthorizeKey, type PolicyConfig } from '../../src/policy/authorize.ts';
import { compileModelPatterns } from '../../src/policy/models.ts';
import { compileRoutes } from '../../src/policy/routes.ts';
import { parseModelName } from '../../src/policy/model-name.ts';
import { checkRegistries } from '../../src/policy/registries.ts';
import { DEFAULT_REGISTRIES, configSchema } from '../../src/config/schema.ts';
import { ErrorCode, WardenError, type ErrorCodeValue } from '../../src/errors.ts';

const policy = (registries: string[], extra: Partial<PolicyConfig> = {}): PolicyConfig => ({
  allowAccountRoutes: false,
  allowInsecureRegistries: false,
  allowServerTools: false,
  allowRemoteModels: false,
  registries,
  ...extra,
});
const DEFAULTS = policy([...DEFAULT_REGISTRIES]);
const manager: AuthorizeKey = { scopes: new Set(['models:manage', 'models:read', 'inference']), models: compileModelPatterns([]) };
const table = compileRoutes({ allowAccountRoutes: false });
const openTable = compileRoutes({ allowAccountRoutes: true });

/** authorize()'s answer as ok/refused: a refusal is a WardenError (its status from its code). */
function check(path: string, body: unknown, p: PolicyConfig = DEFAULTS): { ok: true } | { ok: false; status: number; code: ErrorCodeValue; message: string } {
  const route = (p.allowAccountRoutes ? openTable : table).lookup('POST', path);
  assert.ok(route, path);
  const got = authorize(route, manager, body, p);
  return got instanceof WardenError ? { ok: false, status: got.status, code: got.code, message: got.message } : { ok: true };
}

test('the host of a model name is the registry Ollama dials, lower case, port kept', () => {
  const cases: Array<[string, string]> = [
    ['llama3.2', 'registry.ollama.ai'],
    ['me/llama3.2:1b', 'registry.ollama.ai'],
    ['registry.ollama.ai/library/llama3.2', 'registry.ollama.ai'],
    ['REGISTRY.Ollama.AI/library/llama3.2', 'registry.ollama.ai'],
    ['hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M', 'hf.co'],
    ['10.0.0.5:8080/ns/m', '10.0.0.5:8080'],
    ['https://Internal.Corp/ns/m:v1', 'internal.corp'],
    ['fd00::1/ns/m', 'fd00::1'],
    ['evil.example/ns/m:cloud', 'evil.example'],
    ['evil.example:5000/ns/m:7b-cloud', 'evil.example:5000'],
    ['evil.example/ns/m:local', 'evil.example'],
    ['gpt-oss:120b-cloud', 'registry.ollama.ai'],
  ];
  for (const [name, host] of cases) {
    const p = parseModelName(name);
    assert.ok(p.ok, name);
    assert.equal(p.host, host, name);
  }
});

test('pull and push: a model on a host outside policy.registries is refused 403 naming the host and the setting', () => {
  for (const path of ['/api/pull', '/api/push']) {
    for (const [body, host] of [
      [{ model: '10.0.0.5:8080/ns/m' }, '10.0.0.5:8080'],
      [{ model: '169.254.169.254/latest/meta-data' }, '169.254.169.254'],
      [{ model: 'internal.corp/ns/m' }, 'internal.corp'],
      [{ model: 'Internal.CORP/ns/m' }, 'internal.corp'],
      [{ model: 'http://localhost:11434/ns/m' }, 'localhost:11434'],
      [{ model: 'registry.ollama.ai:443/library/llama3.2' }, 'registry.ollama.ai:443'],
      [{ model: 'registry.ollama.ai.evil.example/library/llama3.2' }, 'registry.ollama.ai.evil.example'],
      [{ model: 'hf.co.evil.example/u/m' }, 'hf.co.evil.example'],
      [{ name: 'evil.example/ns/m' }, 'evil.example'],
      [{ model: 'llama3.2', name: 'evil.example/ns/m' }, 'evil.example'],
      [{ model: 'evil.example/ns/m', name: 'llama3.2' }, 'evil.example'],
    ] as const) {
      const got = check(path, body);
      assert.equal(got.ok, false, `${path} ${JSON.stringify(body)}`);
      if (got.ok) continue;
      assert.equal(got.status, 403);
      assert.equal(got.code, ErrorCode.FORBIDDEN_POLICY);
      assert.ok(got.message.includes(`"${host}"`), got.message);
      assert.match(got.message, /policy\.registries/);
    }
  }
});

test('pull and push from the default registries are allowed, in any letter case and either spelling', () => {
  for (const path of ['/api/pull', '/api/push']) {
    for (const model of [
      'llama3.2',
      'registry.ollama.ai/library/llama3.2',
      'REGISTRY.OLLAMA.AI/Library/llama3.2:1b',
      'https://registry.ollama.ai/me/m',
      'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M',
      'HF.CO/u/m',
      'huggingface.co/u/m:latest',
    ]) {
      const got = check(path, { model });
      assert.equal(got.ok, true, `${path} ${model}: ${JSON.stringify(got)}`);
    }
  }
});

test('/api/create: `from` is pulled when missing, so its host is checked; the new name is local only', () => {
  const refused = check('/api/create', { model: 'mine', from: '10.0.0.5:8080/ns/m' });
  assert.equal(refused.ok, false);
  if (!refused.ok) assert.match(refused.message, /"10\.0\.0\.5:8080" \(in "from": .*policy\.registries/);
  assert.equal(check('/api/create', { model: 'mine', from: 'hf.co/u/m' }).ok, true);
  assert.equal(check('/api/create', { model: 'internal.corp/ns/copy', from: 'llama3.2' }).ok, true);
});

test('routes that only read local manifests are not affected', () => {
  const route = table.lookup('POST', '/api/copy');
  assert.ok(route);
  assert.ok(!(authorize(route, manager, { source: 'llama3.2', destination: 'internal.corp/ns/m' }, DEFAULTS) instanceof WardenError));
  assert.equal(check('/api/show', { model: 'internal.corp/ns/m' }).ok, true);
});

test('an owner-listed host is allowed, exactly: the port is part of it', () => {
  const p = policy(['registry.ollama.ai', 'registry.example.com:5000']);
  assert.equal(check('/api/pull', { model: 'registry.example.com:5000/ns/m' }, p).ok, true);
  assert.equal(check('/api/pull', { model: 'Registry.Example.COM:5000/ns/m' }, p).ok, true);
  assert.equal(check('/api/pull', { model: 'registry.example.com/ns/m' }, p).ok, false);
  assert.equal(check('/api/pull', { model: 'registry.example.com:5001/ns/m' }, p).ok, false);
  assert.equal(check('/api/pull', { model: 'hf.co/u/m' }, p).ok, false, 'the list replaces the defaults');
});

test('an empty list allows no registry; ["*"] allows any', () => {
  assert.equal(check('/api/pull', { model: 'llama3.2' }, policy([])).ok, false);
  assert.equal(check('/api/pull', { model: '10.0.0.5:8080/ns/m' }, policy(['*'])).ok, true);
  assert.equal(checkRegistries(['model'], { model: '169.254.169.254/x/y' }, ['*']), null);
});

test('cloud names keep their host: with account routes allowed, a cloud name on another host is still refused', () => {
  const p = policy([...DEFAULT_REGISTRIES], { allowAccountRoutes: true });
  assert.equal(check('/api/pull', { model: 'gpt-oss:120b-cloud' }, p).ok, true);
  assert.equal(check('/api/pull', { model: 'evil.example/ns/m:cloud' }, p).ok, false);
});

test('names the parser refuses never get as far as the registry rule (400, not guessed)', () => {
  for (const model of ['[::1]:8080/ns/m', ' evil.example/ns/m', 'evil.example/ns/m\u0085', 'evil.example\u00a0/ns/m', 'evil.example/ns/m\t']) {
    const got = check('/api/pull', { model });
    assert.equal(got.ok, false, JSON.stringify(model));
    if (!got.ok) assert.equal(got.status, 400, JSON.stringify(model));
  }
});

test('policy.registries entries are validated and canonicalised at start-up', () => {
  const entries = (registries: string[]) => configSchema.safeParse({ policy: { registries } });
  for (const ok of ['registry.ollama.ai', 'hf.co', 'Registry.Example.COM:5000', '10.0.0.5:8080', '*', 'my_registry', 'localhost:65535']) {
    const r = entries([ok]);
    assert.ok(r.success, ok);
    // every accepted entry is exactly the host the one name parser reads from a name using it
    if (ok === '*') continue;
    const name = parseModelName(`${ok}/namespace/model`);
    assert.ok(name.ok && name.host === ok.toLowerCase(), ok);
  }
  for (const bad of ['https://registry.example.com', 'registry.example.com/ns', '[::1]:5000', 'fd00::1', 'host:', 'host:0', 'host:65536', 'host:abc', '*.corp', ' hf.co', 'hf.co\u0085', '', '-x.example', 'a'.repeat(400)]) {
    const r = entries([bad]);
    assert.equal(r.success, false, JSON.stringify(bad));
    if (!r.success) {
      assert.deepEqual(r.error.issues[0]!.path, ['policy', 'registries', 0]);
      assert.match(r.error.issues[0]!.message, /not a registry host|port/);
    }
  }
  const parsed = configSchema.parse({ policy: { registries: ['Registry.Example.COM:5000', 'HF.co'] } });
  assert.deepEqual(parsed.policy.registries, ['registry.example.com:5000', 'hf.co']);
  assert.deepEqual(configSchema.parse({}).policy.registries, ['registry.ollama.ai', 'hf.co', 'huggingface.co']);
});
