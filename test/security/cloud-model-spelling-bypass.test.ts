// Cloud models reached by spelling tricks (issue: "Cloud models cannot be reached by spelling
// tricks"). Ollama trims a model name and its `:` suffix with Go's strings.TrimSpace, which
// strips U+0085, U+00A0, U+3000 … (JavaScript's trim() a different set), so `gpt-oss:20b: cloud`
// or `gpt-oss:120b-cloud\u0085` is a cloud model to Ollama. Every route that carries a model
// must refuse every such spelling before Ollama sees it, and a key limited to some models must
// not reach another one by spelling it differently. Checked against the real server and a fake
// Ollama that records what reaches it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { createKeyViaCli } from './helpers.ts';

let limited: string;

const stack = withWarden({
  ollama: { chunks: 1, delayMs: 0 },
  afterStart: async () => {
    limited = (await createKeyViaCli(stack.w, ['--name', 'limited', '--scope', 'inference', '--scope', 'models:read', '--scope', 'models:manage', '--model', 'llama3.*', '--model', 'mine-*'])).key;
  },
});

async function send(method: string, path: string, body: unknown, key = stack.w.adminKey): Promise<{ status: number; text: string; reached: boolean }> {
  const before = stack.fake.requests.length;
  const res = await request(`${stack.w.url}${path}`, {
    method: method as 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: stack.w.dispatcher,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, reached: stack.fake.requests.length > before };
}

// Every route that names a model in its body, with the body shape its clients send.
const ROUTES: Array<[method: string, path: string, body: (m: string) => Record<string, unknown>]> = [
  ['POST', '/api/chat', (m) => ({ model: m, messages: [{ role: 'user', content: 'hi' }], stream: false })],
  ['POST', '/api/generate', (m) => ({ model: m, prompt: 'hi', stream: false })],
  ['POST', '/api/embed', (m) => ({ model: m, input: 'hi' })],
  ['POST', '/api/embeddings', (m) => ({ model: m, prompt: 'hi' })],
  ['POST', '/api/show', (m) => ({ model: m })],
  ['POST', '/api/show', (m) => ({ name: m })],
  ['POST', '/api/pull', (m) => ({ model: m, stream: false })],
  ['POST', '/api/push', (m) => ({ model: m, stream: false })],
  ['POST', '/api/create', (m) => ({ model: m, from: 'llama3.2' })],
  ['POST', '/api/create', (m) => ({ model: 'mine-alias', from: m })],
  ['POST', '/api/copy', (m) => ({ source: m, destination: 'mine-copy' })],
  ['POST', '/api/copy', (m) => ({ source: 'llama3.2', destination: m })],
  ['DELETE', '/api/delete', (m) => ({ model: m })],
  ['POST', '/v1/chat/completions', (m) => ({ model: m, messages: [{ role: 'user', content: 'hi' }] })],
  ['POST', '/v1/completions', (m) => ({ model: m, prompt: 'hi' })],
  ['POST', '/v1/embeddings', (m) => ({ model: m, input: 'hi' })],
  ['POST', '/v1/responses', (m) => ({ model: m, input: 'hi' })],
  ['POST', '/v1/messages', (m) => ({ model: m, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })],
  ['POST', '/v1/images/generations', (m) => ({ model: m, prompt: 'a cat' })],
  ['POST', '/v1/images/edits', (m) => ({ model: m, prompt: 'a cat', image: 'data:image/png;base64,AAAA' })],
];

// The spellings of the issue, and the class around them: Go White_Space that JS trim() keeps or
// strips differently, around the name and around the `:`, in either case.
const CLOUD_SPELLINGS = [
  'gpt-oss:20b: cloud',
  'gpt-oss:20b:\tcloud',
  'gpt-oss:120b-cloud\u0085',
  'embeddinggemma:\u00a0cloud',
  'gpt-oss:20b:cloud\u3000',
  '\u2003gpt-oss:20b:cloud',
  'gpt-oss:20b:CLOUD',
  'gpt-oss:120b-Cloud',
  'qwen3:\u205fcloud\u00a0',
  'gpt-oss:120b-cloud\n',
  'gpt-oss:120b-cloud\u180e',
  'registry.ollama.ai/library/gpt-oss:120b-cloud',
  'library/qwen3:cloud',
];

describe('cloud model spellings are refused on every route that carries a model', () => {
  for (const [method, path, body] of ROUTES) {
    it(`${method} ${path} ${Object.keys(body('x')).join('+')}: no spelling of a cloud model reaches Ollama`, async () => {
      for (const m of CLOUD_SPELLINGS) {
        const r = await send(method, path, body(m));
        assert.ok(r.status === 400 || r.status === 403, `${JSON.stringify(m)} → ${r.status} ${r.text}`);
        assert.equal(r.reached, false, `${JSON.stringify(m)} reached Ollama on ${path}`);
      }
    });
  }

  it('GET /v1/models/:model refuses cloud spellings in the path (plain and percent-encoded)', async () => {
    for (const m of ['gpt-oss:120b-cloud', 'gpt-oss%3A20b%3Acloud', 'gpt-oss:20b:%C2%A0cloud', 'gpt-oss:120b-cloud%C2%85', 'qwen3:%20cloud', 'qwen3:CLOUD']) {
      const r = await send('GET', `/v1/models/${m}`, undefined);
      assert.ok(r.status === 400 || r.status === 403, `${m} → ${r.status} ${r.text}`);
      assert.equal(r.reached, false, `${m} reached Ollama`);
    }
  });

  it('a name Ollama would trim is refused with 400 naming the model field, even when not cloud', async () => {
    const r = await send('POST', '/api/chat', { model: 'llama3.2\u00a0', messages: [] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /model name/);
    assert.equal(r.reached, false);
  });

  it('the ordinary spelling of a local model still reaches Ollama', async () => {
    const r = await send('POST', '/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.reached, true);
  });
});

describe('a key limited to some models cannot reach another by spelling it differently', () => {
  const OTHER = ['secret\u00a0', '\u0085secret', 'SECRET', 'secret:latest:local', 'registry.ollama.ai/library/secret', 'llama3\u3000.2', 'llama3.2 ', 'mine-x\u2028'];
  for (const [method, path, body] of ROUTES) {
    it(`${method} ${path} ${Object.keys(body('x')).join('+')}`, async () => {
      for (const m of OTHER) {
        const r = await send(method, path, body(m), limited);
        assert.ok(r.status === 400 || r.status === 403, `${JSON.stringify(m)} → ${r.status} ${r.text}`);
        assert.equal(r.reached, false, `${JSON.stringify(m)} reached Ollama on ${path}`);
      }
    });
  }

  it('the allowed model in another case and its long spelling are still served', async () => {
    for (const m of ['LLAMA3.2', 'registry.ollama.ai/library/llama3.2:latest', 'llama3.2:latest:local']) {
      const r = await send('POST', '/api/chat', { model: m, messages: [{ role: 'user', content: 'hi' }], stream: false }, limited);
      // (the fake Ollama's own lookup is case-sensitive; what matters is that Warden let it through)
      assert.equal(r.reached, true, `${m}: ${r.status} ${r.text}`);
    }
  });
});
