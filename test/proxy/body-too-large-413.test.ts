// A body over limits.maxBodyBytes reaches Node clients as a 413. Warden used to
// answer and close at once; the kernel then reset the connection on the body bytes still
// arriving, and undici (under ollama-js and openai-node) reported "fetch failed"/EPIPE with no
// status. Now the rest of the body is read and dropped before the connection is reused or closed
// (src/server/linger.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request, fetch as undiciFetch } from 'undici';
import { Ollama } from 'ollama';
import { withWarden } from '../helpers/warden.ts';
import { assertStillServes, waitForAudit } from '../security/helpers.ts';

const MIB = 1024 * 1024;

const stack = withWarden({ ollama: { chunks: 2, delayMs: 0 }, env: { WARDEN_LIMITS_MAX_BODY_BYTES: String(MIB), WARDEN_LIMITS_MAX_BLOB_BYTES: String(2 * MIB) } });

/** A chat with one image of `bytes` (base64), as vision clients send it. */
function imageChat(bytes: number): string {
  return JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'what is this?', images: [Buffer.alloc(bytes, 7).toString('base64')] }], stream: false });
}

describe('a body over the limit', () => {
  it('reaches undici as a 413 with the reason, every time (declared Content-Length)', async () => {
    const before = stack.fake.requests.length;
    const body = imageChat(6 * MIB);
    for (let i = 0; i < 5; i++) {
      const res = await request(`${stack.w.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' }, body, dispatcher: stack.w.dispatcher });
      assert.equal(res.statusCode, 413);
      assert.match(JSON.parse(await res.body.text()).error, /larger than 1048576 bytes/);
    }
    assert.equal(stack.fake.requests.length, before, 'nothing reached Ollama');
  });

  it('reaches undici as a 413 when sent chunked (no Content-Length)', async () => {
    const data = Buffer.from(imageChat(6 * MIB));
    const parts = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const res = await request(`${stack.w.url}/api/generate`, { method: 'POST', headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' }, body: Readable.from(parts), dispatcher: stack.w.dispatcher });
    assert.equal(res.statusCode, 413);
    await res.body.text();
  });

  it('reaches ollama-js as an error with status 413', async () => {
    const trusting = ((url: string, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: stack.w.dispatcher })) as unknown as typeof fetch;
    const ollama = new Ollama({ host: stack.w.url, headers: { Authorization: `Bearer ${stack.w.adminKey}` }, fetch: trusting });
    const err = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi', images: [Buffer.alloc(6 * MIB, 1).toString('base64')] }] }).then(
      () => null,
      (e: unknown) => e as { status_code?: number; message: string },
    );
    assert.ok(err, 'the chat was accepted');
    assert.equal(err.status_code, 413, `ollama-js saw: ${err.message}`);
  });

  it('reaches undici as a 413 on a blob upload declared over limits.maxBlobBytes', async () => {
    const before = stack.fake.requests.length;
    const res = await request(`${stack.w.url}/api/blobs/sha256:${'ab'.repeat(32)}`, { method: 'POST', headers: { authorization: `Bearer ${stack.w.adminKey}` }, body: Buffer.alloc(8 * MIB, 3), dispatcher: stack.w.dispatcher });
    assert.equal(res.statusCode, 413);
    assert.match(JSON.parse(await res.body.text()).error, /larger than 2097152 bytes/);
    assert.equal(stack.fake.requests.length, before);
  });

  it('is audited as 413 and the connection is usable afterwards', async () => {
    await waitForAudit(stack.w, (l) => l.status === 413 && l.path === '/api/chat');
    await assertStillServes(stack.w, stack.fake);
  });
});
