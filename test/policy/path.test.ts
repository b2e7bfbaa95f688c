// Each request target is sent as raw bytes to a real node:http server, so the function is tested
// on the `req.url` Node actually produces. A target Node's own parser rejects counts as refused
// too: either way it never reaches Ollama.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPath } from '../../src/policy/path.ts';
import { WardenError } from '../../src/errors.ts';
import { startCaptureServer, type CaptureServer } from '../auth/capture-server.ts';

let srv: CaptureServer;
before(async () => {
  srv = await startCaptureServer();
});
after(async () => {
  await srv.close();
});

async function check(target: string): Promise<ReturnType<typeof canonicalPath> | 'refused-by-node'> {
  const c = await srv.send(`GET ${target} HTTP/1.1`);
  if (!c) return 'refused-by-node';
  return canonicalPath(c.url);
}

const accepted: Array<{ name: string; target: string; path: string; query?: Record<string, string> }> = [
  { name: 'a plain route passes unchanged', target: '/api/chat', path: '/api/chat' },
  { name: 'the root passes', target: '/', path: '/' },
  { name: "the ollama CLI's ?ts= query is kept for the signature check", target: '/api/tags?ts=1767225600', path: '/api/tags', query: { ts: '1767225600' } },
  { name: 'an OpenAI SDK model id with an encoded colon is decoded (/v1/models/llama3%3Alatest)', target: '/v1/models/llama3%3Alatest', path: '/v1/models/llama3:latest' },
  { name: 'a model id with a literal colon passes', target: '/v1/models/qwen2.5:7b', path: '/v1/models/qwen2.5:7b' },
  { name: 'a blob digest passes', target: `/api/blobs/sha256:${'a'.repeat(64)}`, path: `/api/blobs/sha256:${'a'.repeat(64)}` },
  { name: 'case is preserved, never folded (/API/chat stays /API/chat and is no route)', target: '/API/chat', path: '/API/chat' },
];

for (const c of accepted) {
  test(`accepted: ${c.name}`, async () => {
    const got = await check(c.target);
    if (got === 'refused-by-node' || got instanceof WardenError) {
      assert.fail(`got ${JSON.stringify(got)}, want ${c.path}`);
    }
    assert.equal(got.path, c.path);
    for (const [k, v] of Object.entries(c.query ?? {})) assert.equal(got.query.get(k), v);
  });
}

const refused: Array<{ name: string; target: string }> = [
  { name: 'path traversal with .. is refused', target: '/api/../debug/pprof' },
  { name: 'path traversal with %2e%2e is refused', target: '/api/%2e%2e/debug/pprof' },
  { name: 'path traversal with upper-case %2E%2E is refused', target: '/api/%2E%2E/debug' },
  { name: 'a single-dot segment is refused', target: '/api/./chat' },
  { name: 'a trailing dot segment is refused', target: '/api/chat/.' },
  { name: 'an encoded slash %2f is refused (route confusion: /api%2fchat)', target: '/api%2fchat' },
  { name: 'an encoded slash inside the model id is refused', target: '/v1/models/evil%2F..%2Fx' },
  { name: 'an encoded dot-dot as the model id is refused', target: '/v1/models/%2e%2e' },
  { name: 'an encoded backslash %5c is refused', target: '/api%5cchat' },
  { name: 'a literal backslash is refused', target: '/api\\chat' },
  { name: 'a doubled slash is refused (//api/chat)', target: '//api/chat' },
  { name: 'a doubled slash in the middle is refused', target: '/api//chat' },
  { name: 'any other percent-encoding in the path is refused (%61pi)', target: '/%61pi/chat' },
  { name: 'an encoded NUL is refused', target: '/api/chat%00' },
  { name: 'an encoded NUL in the model id is refused', target: '/v1/models/llama%00' },
  { name: 'non-ASCII in the path is refused', target: '/api/ch\u00e4t' },
  { name: 'absolute-form request targets for another host are refused', target: 'http://evil.example/api/tags' },
  { name: 'absolute-form request targets for our own host are refused too', target: 'http://127.0.0.1/api/tags' },
  { name: 'the asterisk-form target is refused', target: '*' },
  { name: 'a semicolon path parameter trick (..;) is refused', target: '/api/..;/debug' },
  { name: 'a NUL in the query is refused', target: '/api/tags?x=%00' },
  { name: 'a broken escape in the query is refused', target: '/api/tags?x=%zz' },
];

for (const c of refused) {
  test(`refused: ${c.name}`, async () => {
    const got = await check(c.target);
    if (got === 'refused-by-node') return;
    assert.ok(got instanceof WardenError, `got ${JSON.stringify(got)}, want a 400 refusal`);
    if (got instanceof WardenError) assert.equal(got.status, 400);
  });
}

test('canonicalPath on its own refuses an empty target', () => {
  const got = canonicalPath('');
  assert.ok(got instanceof WardenError);
});
