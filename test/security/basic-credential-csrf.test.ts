// Cross-site request forgery with cached Basic credentials: a browser that logged in to Warden
// with Basic (a URL like https://key:SECRET@host) resends those credentials by itself, also with
// a form another site submits. A form can post text/plain, x-www-form-urlencoded or multipart —
// no preflight — and Ollama's Go decoder reads JSON whatever the Content-Type, so
// `{"model":"x","pad":"=…"}` sent as text/plain would pull, delete or create models. With Basic
// credentials Warden requires application/json on JSON routes and refuses cross-site browser
// requests that change something; other credentials (set only by scripts, preflighted) are as before.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';

let basic: string;

const stack = withWarden({
  ollama: { chunks: 1, delayMs: 0 },
  afterStart: async () => {
    basic = `Basic ${Buffer.from(`user:${stack.w.adminKey}`).toString('base64')}`;
  },
});

async function send(method: string, path: string, headers: Record<string, string>, body: string | Buffer): Promise<{ status: number; text: string; reached: boolean }> {
  const before = stack.fake.requests.length;
  const res = await request(`${stack.w.url}${path}`, { method: method as 'POST', headers, body, dispatcher: stack.w.dispatcher });
  const text = await res.body.text();
  return { status: res.statusCode, text, reached: stack.fake.requests.length > before };
}

const FORM_BODY = '{"model":"llama3.2","stream":false,"pad":"=x"}';

describe('a form posted by another site with cached Basic credentials', () => {
  const forms: Array<[string, string, Record<string, string>]> = [
    ['POST', '/api/pull', { 'content-type': 'text/plain' }],
    ['POST', '/api/pull', { 'content-type': 'text/plain;charset=UTF-8', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }],
    ['DELETE', '/api/delete', { 'content-type': 'text/plain' }],
    ['POST', '/api/create', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['POST', '/api/copy', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['POST', '/api/chat', { 'content-type': 'text/plain' }],
    ['POST', '/api/pull', {}],
  ];
  for (const [method, path, headers] of forms) {
    it(`${method} ${path} as ${headers['content-type'] ?? 'no Content-Type'} is refused before Ollama sees it`, async () => {
      const r = await send(method, path, { authorization: basic, ...headers }, FORM_BODY);
      assert.equal(r.status, 415, r.text);
      assert.match(r.text, /application\/json/);
      assert.equal(r.reached, false, 'the request reached Ollama');
    });
  }

  it('a cross-site multipart post (transcription) or blob upload with Basic credentials is refused', async () => {
    const mp = `--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper\r\n--b--\r\n`;
    const r = await send('POST', '/v1/audio/transcriptions', { authorization: basic, 'content-type': 'multipart/form-data; boundary=b', 'sec-fetch-site': 'cross-site' }, mp);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.reached, false);
    const blob = await send('POST', `/api/blobs/sha256:${'ab'.repeat(32)}`, { authorization: basic, 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' }, 'x');
    assert.equal(blob.status, 403, blob.text);
    assert.equal(blob.reached, false);
  });

  it('Basic with application/json, and Bearer with any Content-Type (curl -d), still work', async () => {
    const cases: Array<Record<string, string>> = [
      { authorization: basic, 'content-type': 'application/json' },
      { authorization: basic, 'content-type': 'application/json; charset=utf-8', 'sec-fetch-site': 'same-origin' },
      { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      { 'x-api-key': stack.w.adminKey, 'content-type': 'text/plain' },
    ];
    for (const headers of cases) {
      const r = await send('POST', '/api/pull', headers, FORM_BODY);
      assert.equal(r.reached, true, `${JSON.stringify(headers)}: ${r.status} ${r.text}`);
    }
  });

  it('GET with Basic from another site is not affected (it cannot change anything)', async () => {
    const res = await request(`${stack.w.url}/api/tags`, { headers: { authorization: basic, 'sec-fetch-site': 'cross-site' }, dispatcher: stack.w.dispatcher });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
  });
});
