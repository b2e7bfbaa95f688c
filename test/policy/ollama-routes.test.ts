// Every route of Ollama's own route table (test/policy/ollama-routes.json: GenerateRoutes() of
// the Ollama version named there) is either routed by Warden, with a scope, or refused on purpose
// (an account route behind policy.allowAccountRoutes). A route Ollama adds that Warden has not
// decided about fails here instead of answering 404 to the clients that use it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileRoutes } from '../../src/policy/routes.ts';
import { canonicalPath } from '../../src/policy/path.ts';
import { WardenError } from '../../src/errors.ts';

interface OllamaRoutes {
  version: string;
  commit: string;
  routes: Array<{ method: string; path: string }>;
}
const data = JSON.parse(readFileSync(new URL('./ollama-routes.json', import.meta.url), 'utf8')) as OllamaRoutes;
const strict = compileRoutes({ allowAccountRoutes: false });
const open = compileRoutes({ allowAccountRoutes: true });

/** Sample values for gin's `:param` segments. */
const SAMPLES: Record<string, string> = {
  ':digest': `sha256:${'0123456789abcdef'.repeat(4)}`,
  ':model': 'llama3.2',
  ':encodedKey': 'c3NoLWVkMjU1MTk',
};
const concrete = (p: string): string => p.replace(/:[A-Za-z]+/g, (m) => SAMPLES[m] ?? assert.fail(`no sample for ${m} in ${p}`));

test(`the route list comes from a named Ollama version (${data.version})`, () => {
  assert.match(data.version, /^v\d+\.\d+\.\d+/);
  assert.match(data.commit, /^[0-9a-f]{40}$/);
  assert.ok(data.routes.length >= 30, 'the list looks truncated');
});

for (const { method, path } of data.routes) {
  test(`Ollama ${data.version} ${method} ${path} is routed or refused on purpose`, () => {
    const target = canonicalPath(concrete(path));
    assert.ok(!(target instanceof WardenError), `${path}: the canonical-path check refuses Ollama's own route`);
    const r = strict.lookup(method, target.path);
    assert.ok(r, `${method} ${path} is neither routed nor refused on purpose: decide its scope and model rule in src/policy/routes.ts`);
    assert.equal(r.handler, 'upstream');
    assert.ok(r.scopes.length > 0, `${method} ${path} needs some scope`);
    assert.equal(r.invalid, null, `${method} ${path}: ${r.invalid}`);
    if (r.blocked) {
      // refused on purpose by default; an owner who opts in gets it routed
      const o = open.lookup(method, target.path);
      assert.ok(o && !o.blocked, `${method} ${path} stays blocked with allowAccountRoutes`);
    }
  });
}

test('the routes Ollama added are routed with their scope and model rule', () => {
  const status = strict.lookup('GET', '/api/status');
  assert.deepEqual(status?.scopes, ['models:read']);
  const audio = strict.lookup('POST', '/v1/audio/transcriptions');
  assert.deepEqual(audio?.scopes, ['inference']);
  assert.equal(audio?.bodyKind, 'form');
  assert.equal(audio?.modelField, 'body');
  assert.deepEqual(audio?.modelFields, ['model']);
  // model recommendations are fetched from ollama.com: an account route
  assert.equal(strict.lookup('GET', '/api/experimental/model-recommendations')?.blocked, true);
});
