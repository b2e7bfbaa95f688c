// Every route of Ollama's documented API passes through forward() with its method, body and
// answer intact — GET, HEAD, POST and DELETE-with-body alike — against the fake Ollama.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, withProxy } from './harness.ts';

const BLOB = `sha256:${'cd'.repeat(32)}`;

const routes: { method: string; path: string; body?: unknown; status: number; check?: (body: string) => void }[] = [
  { method: 'GET', path: '/', status: 200, check: (b) => assert.equal(b, 'Ollama is running') },
  { method: 'HEAD', path: '/', status: 200, check: (b) => assert.equal(b, '') },
  { method: 'GET', path: '/api/version', status: 200, check: (b) => assert.deepEqual(JSON.parse(b), { version: '0.12.0' }) },
  { method: 'GET', path: '/api/ps', status: 200, check: (b) => assert.ok(Array.isArray((JSON.parse(b) as { models: unknown[] }).models)) },
  { method: 'POST', path: '/api/show', body: { model: 'llama3.2' }, status: 200, check: (b) => assert.ok('capabilities' in (JSON.parse(b) as object)) },
  { method: 'POST', path: '/api/embeddings', body: { model: 'nomic-embed-text', prompt: 'x' }, status: 200 },
  { method: 'POST', path: '/api/pull', body: { model: 'phi3:mini' }, status: 200, check: (b) => assert.match(b.trim().split('\n').at(-1) ?? '', /"success"/) },
  { method: 'POST', path: '/api/push', body: { model: 'llama3.2' }, status: 200 },
  { method: 'POST', path: '/api/create', body: { model: 'mine:1b', from: 'llama3.2' }, status: 200 },
  { method: 'POST', path: '/api/copy', body: { source: 'llama3.2', destination: 'copy:1b' }, status: 200 },
  { method: 'DELETE', path: '/api/delete', body: { model: 'copy:1b' }, status: 200 },
  { method: 'DELETE', path: '/api/delete', body: { model: 'copy:1b' }, status: 404 },
  { method: 'HEAD', path: `/api/blobs/${BLOB}`, status: 404 },
  { method: 'GET', path: '/v1/models', status: 200, check: (b) => assert.equal((JSON.parse(b) as { object: string }).object, 'list') },
  { method: 'GET', path: '/v1/models/llama3.2:latest', status: 200 },
  { method: 'GET', path: '/v1/models/nope:1b', status: 404 },
  { method: 'POST', path: '/v1/completions', body: { model: 'llama3.2', prompt: 'x' }, status: 200 },
  { method: 'POST', path: '/v1/embeddings', body: { model: 'nomic-embed-text', input: ['a', 'b'] }, status: 200 },
  {
    method: 'POST',
    path: '/v1/chat/completions',
    body: { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }] },
    status: 200,
    check: (b) => assert.equal((JSON.parse(b) as { usage: { prompt_tokens: number } }).usage.prompt_tokens, 26),
  },
  { method: 'POST', path: '/api/generate', body: { model: 'missing:1b', prompt: 'x' }, status: 404 },
];

void describe('forward: the documented Ollama API passes through', () => {

  const stack = withProxy({ ollama: { fast: true, foreignHostCheck: true } });

  for (const r of routes) {
    void test(`${r.method} ${r.path} → ${r.status}`, async () => {
      const body = r.body === undefined ? undefined : JSON.stringify(r.body);
      const res = await request(stack.proxy.port, { method: r.method, path: r.path, body });
      assert.equal(res.status, r.status, res.body.toString());
      const seen = stack.fake.requests.at(-1);
      assert.equal(seen?.method, r.method);
      assert.equal(seen?.url, r.path);
      assert.equal(seen?.body.toString(), body ?? '');
      r.check?.(res.body.toString());
    });
  }
});
