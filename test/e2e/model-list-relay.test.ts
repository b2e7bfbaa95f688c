// Model lists keep Ollama's bytes when Warden removes nothing: /api/tags, /api/ps and /v1/models
// are relayed unchanged (Go's `\u003c` escapes, key order, Content-Length) for a key that sees
// every entry, and HEAD /api/tags keeps its Content-Length — that of the list this key would get.
// When Warden does remove entries (model patterns, cloud models), the answer is the filtered list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { createKeyViaCli } from '../security/helpers.ts';

let limited: string;

const stack = withWarden({
  ollama: { chunks: 1, delayMs: 0, models: ['llama3.2:latest', 'qwen2.5:7b'], tagExtra: { license: '<MIT> & co' } },
  afterStart: async () => {
    limited = (await createKeyViaCli(stack.w, ['--name', 'llama-only', '--scope', 'models:read', '--model', 'llama3.*'])).key;
  },
});

async function get(method: 'GET' | 'HEAD', path: string, key = stack.w.adminKey): Promise<{ status: number; body: Buffer; length: string | undefined; type: string | undefined }> {
  const res = await request(`${stack.w.url}${path}`, { method, headers: { authorization: `Bearer ${key}` }, dispatcher: stack.w.dispatcher });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body, length: res.headers['content-length'] as string | undefined, type: res.headers['content-type'] as string | undefined };
}

async function direct(path: string): Promise<Buffer> {
  const res = await request(`${stack.fake.url}${path}`);
  return Buffer.from(await res.body.arrayBuffer());
}

describe('model lists', () => {
  it('GET /api/tags is Ollama’s bytes, escapes included, when nothing is filtered', async () => {
    const r = await get('GET', '/api/tags');
    assert.equal(r.status, 200);
    const upstream = await direct('/api/tags');
    assert.match(upstream.toString(), /\\u003cMIT\\u003e \\u0026 co/);
    assert.deepEqual(r.body.toString(), upstream.toString());
    assert.equal(r.length, String(upstream.length));
  });

  it('HEAD /api/tags keeps its Content-Length (that of the GET answer)', async () => {
    const head = await get('HEAD', '/api/tags');
    const full = await get('GET', '/api/tags');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.length, String(full.body.length));
  });

  it('a filtered key gets the filtered list, and HEAD tells its length', async () => {
    const r = await get('GET', '/api/tags', limited);
    const names = (JSON.parse(r.body.toString()) as { models: Array<{ name: string }> }).models.map((m) => m.name);
    assert.deepEqual(names, ['llama3.2:latest']);
    const head = await get('HEAD', '/api/tags', limited);
    assert.equal(head.length, String(r.body.length));
  });

  it('GET /v1/models is relayed unchanged when nothing is filtered', async () => {
    const r = await get('GET', '/v1/models');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.toString(), (await direct('/v1/models')).toString());
  });
});
