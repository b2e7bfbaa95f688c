// Plain http:// to the TLS port gets a short plain-text 400 that says to use
// https://, instead of a silently closed connection ("Empty reply from server" in curl, "other
// side closed" in ollama-js). Checked with curl, undici and ollama-js against the real CLI, for
// every method an Ollama client uses; TLS clients on the same port are served as before.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import { Ollama } from 'ollama';
import { withWarden } from '../helpers/warden.ts';
import { assertStillServes } from '../security/helpers.ts';

const run = promisify(execFile);
let plainUrl: string;

const stack = withWarden({
  afterStart: async () => {
    plainUrl = stack.w.url.replace(/^https:/, 'http:');
  },
});

describe('plain HTTP on the TLS port', () => {
  it('curl gets a 400 with a plain-text hint to use https://', async () => {
    const { stdout } = await run('curl', ['-sS', '-w', '\\n%{http_code} %{content_type}', `${plainUrl}/api/version`]);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.at(-1), '400 text/plain; charset=utf-8');
    assert.match(lines[0]!, /Use https:\/\//);
  });

  for (const method of ['GET', 'HEAD', 'POST', 'DELETE', 'PUT', 'OPTIONS', 'PATCH']) {
    it(`undici ${method} gets the 400 status, not a socket error`, async () => {
      const res = await request(`${plainUrl}/api/tags`, { method: method as 'GET', body: method === 'GET' || method === 'HEAD' ? undefined : '{}' });
      const text = await res.body.text();
      assert.equal(res.statusCode, 400);
      assert.equal(res.headers.connection, 'close');
      if (method !== 'HEAD') assert.match(text, /HTTP request to an HTTPS server/);
    });
  }

  it('ollama-js reports the hint instead of "other side closed"', async () => {
    const ollama = new Ollama({ host: plainUrl, headers: { Authorization: `Bearer ${stack.w.adminKey}` } });
    await assert.rejects(ollama.list(), /Use https:\/\//);
  });

  it('nothing reaches Ollama and TLS clients are served as before', async () => {
    const before = stack.fake.requests.length;
    await request(`${plainUrl}/api/version`).then((r) => r.body.text());
    assert.equal(stack.fake.requests.length, before);
    await assertStillServes(stack.w, stack.fake);
  });
});
