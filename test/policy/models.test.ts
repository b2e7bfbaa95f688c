import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileModelPatterns, modelsInBody } from '../../src/policy/models.ts';
import { compileRoutes } from '../../src/policy/routes.ts';
import { WardenError } from '../../src/errors.ts';

const cases: Array<{ name: string; patterns: string[]; model: string; want: boolean }> = [
  { name: 'an empty pattern list allows every model', patterns: [], model: 'anything:at-all', want: true },
  { name: "llama3.* allows llama3.2:latest ('*' crosses ':' and '.')", patterns: ['llama3.*'], model: 'llama3.2:latest', want: true },
  { name: 'llama3.* allows llama3.1:8b', patterns: ['llama3.*'], model: 'llama3.1:8b', want: true },
  { name: 'llama3.* allows a bare llama3.2 (it means llama3.2:latest)', patterns: ['llama3.*'], model: 'llama3.2', want: true },
  { name: "llama3.* does not allow llama3 itself ('.' is literal)", patterns: ['llama3.*'], model: 'llama3', want: false },
  { name: 'llama3.* does not allow qwen2.5:7b', patterns: ['llama3.*'], model: 'qwen2.5:7b', want: false },
  { name: 'the dot is literal: llama3.* does not allow llama3x2', patterns: ['llama3.*'], model: 'llama3x2', want: false },
  { name: 'qwen2.5:* allows every tag of qwen2.5', patterns: ['qwen2.5:*'], model: 'qwen2.5:7b', want: true },
  { name: 'qwen2.5:* allows bare qwen2.5 (default tag latest)', patterns: ['qwen2.5:*'], model: 'qwen2.5', want: true },
  { name: 'qwen2.5:* does not allow qwen2.5-coder:7b', patterns: ['qwen2.5:*'], model: 'qwen2.5-coder:7b', want: false },
  { name: 'a bare pattern allows name:latest', patterns: ['mistral'], model: 'mistral:latest', want: true },
  { name: 'a bare pattern allows the bare name', patterns: ['mistral'], model: 'mistral', want: true },
  { name: 'a bare pattern does not allow another tag', patterns: ['mistral'], model: 'mistral:7b-instruct', want: false },
  { name: 'name:latest pattern allows the bare name', patterns: ['mistral:latest'], model: 'mistral', want: true },
  { name: 'matching is case-insensitive like Ollama (pattern upper)', patterns: ['Llama3.*'], model: 'llama3.2:1b', want: true },
  { name: 'matching is case-insensitive like Ollama (model upper)', patterns: ['llama3.*'], model: 'LLAMA3.2:1B', want: true },
  { name: '? matches exactly one character', patterns: ['phi?:*'], model: 'phi3:mini', want: true },
  { name: '? does not match two characters', patterns: ['phi?:*'], model: 'phi35:mini', want: false },
  { name: 'the long registry spelling of an allowed model is allowed', patterns: ['llama3.2'], model: 'registry.ollama.ai/library/llama3.2:latest', want: true },
  { name: 'the long registry spelling of a denied model is denied', patterns: ['llama3.2'], model: 'registry.ollama.ai/library/secret:latest', want: false },
  { name: 'a foreign registry is not the default one (evil.example/llama3.2)', patterns: ['llama3.2'], model: 'evil.example/llama3.2', want: false },
  { name: 'several patterns: any one may match', patterns: ['llama3.*', 'qwen2.5:*'], model: 'qwen2.5:14b', want: true },
  { name: 'regex metacharacters in patterns are literal (+)', patterns: ['c++coder*'], model: 'cccoder', want: false },
  { name: 'an exact pattern is read as Ollama reads a name (:local is the same model)', patterns: ['secret'], model: 'secret:latest:local', want: true },
  { name: 'a denied model stays denied behind :local', patterns: ['llama3.*'], model: 'secret:latest:local', want: false },
  { name: 'a name Ollama would trim is never allowed (NBSP)', patterns: ['*'], model: 'llama3.2\u00a0', want: false },
  { name: 'an empty model name is never allowed by a restricted key', patterns: ['*'], model: '', want: false },
  { name: 'a huge model name is refused without matching', patterns: ['a*'], model: 'a'.repeat(10_000), want: false },
];

for (const c of cases) {
  test(`model patterns: ${c.name}`, () => {
    const m = compileModelPatterns(c.patterns);
    assert.equal(m.allows(c.model), c.want, `patterns ${JSON.stringify(c.patterns)} model ${c.model}`);
  });
}

test('a pathological pattern against a long name finishes quickly (no ReDoS: globs are not regexes)', () => {
  const m = compileModelPatterns(['*a*a*a*a*a*a*a*a*b']);
  const start = performance.now();
  assert.equal(m.allows('a'.repeat(500)), false);
  assert.ok(performance.now() - start < 500, `took ${performance.now() - start} ms`);
});

test('an invalid pattern is refused when compiled (start-up), with a 400-class WardenError', () => {
  for (const bad of ['llama 3', 'x'.repeat(201), 'a|b', 'llama(3)']) {
    assert.throws(() => compileModelPatterns([bad]), (e: unknown) => e instanceof WardenError && e.status === 400, bad);
  }
});

test('allowsAll tells the response filter it can skip work', () => {
  assert.equal(compileModelPatterns([]).allowsAll, true);
  assert.equal(compileModelPatterns(['x']).allowsAll, false);
});

test('an exact pattern Ollama would not accept as a name is refused when compiled', () => {
  for (const bad of ['localhost:5000/foo', 'a:b:cloud:local', '-leading-dash', 'x@sha256:abc']) {
    assert.throws(() => compileModelPatterns([bad]), (e: unknown) => e instanceof WardenError && e.status === 400, bad);
  }
});

// The cloud rule is tested with the parser that decides it: test/policy/model-name.test.ts.

const routes = compileRoutes({ allowAccountRoutes: false });
const route = (m: string, p: string) => {
  const r = routes.lookup(m, p);
  assert.ok(r);
  return r;
};

const bodies: Array<{ name: string; method: string; path: string; body: unknown; want: string[] | 'invalid' }> = [
  { name: 'native chat: model', method: 'POST', path: '/api/chat', body: { model: 'llama3.2', messages: [] }, want: ['llama3.2'] },
  { name: 'OpenAI chat completions: model', method: 'POST', path: '/v1/chat/completions', body: { model: 'llama3.2', messages: [] }, want: ['llama3.2'] },
  { name: 'legacy name field on /api/show', method: 'POST', path: '/api/show', body: { name: 'llama3.2' }, want: ['llama3.2'] },
  { name: 'both model and name are checked (no smuggling a second name)', method: 'POST', path: '/api/pull', body: { model: 'ok', name: 'other' }, want: ['ok', 'other'] },
  { name: '/api/copy checks source and destination', method: 'POST', path: '/api/copy', body: { source: 'a', destination: 'b' }, want: ['a', 'b'] },
  { name: '/api/create checks the base model in from', method: 'POST', path: '/api/create', body: { model: 'mine', from: 'secret' }, want: ['mine', 'secret'] },
  { name: 'no model field gives an empty list', method: 'POST', path: '/api/generate', body: { prompt: 'hi' }, want: [] },
  { name: 'a non-string model is invalid', method: 'POST', path: '/api/generate', body: { model: ['a', 'b'] }, want: 'invalid' },
  { name: 'a non-object body is invalid', method: 'POST', path: '/api/generate', body: 'llama3', want: 'invalid' },
];
for (const c of bodies) {
  test(`modelsInBody: ${c.name}`, () => {
    const got = modelsInBody(route(c.method, c.path), c.body);
    if (c.want === 'invalid') assert.ok('invalid' in got);
    else assert.deepEqual(got, { models: c.want });
  });
}
