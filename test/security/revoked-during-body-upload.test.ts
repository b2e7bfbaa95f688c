// Attack: authenticate on the headers, then trickle the body while the key is revoked (a stolen
// key noticed and revoked a moment ago) — or let it expire mid-stream. Before this fix Warden
// checked the key once, read the body for up to 60 s, then forwarded the request and streamed the
// whole answer; an expiring key's stream ran to its end. Now the credential is checked again
// once the body is in, and expiry cuts a running stream at the moment of expiry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden, runCli, startGeneration } from '../helpers/warden.ts';
import { collect, createKeyViaCli, head, openTls, upstreamHits } from './helpers.ts';

const stack = withWarden({ ollama: { chunks: 400, delayMs: 25 } });

async function status(key: string): Promise<number> {
  const res = await request(`${stack.w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: stack.w.dispatcher });
  await res.body.text();
  return res.statusCode;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function changeWhileUploading(change: (k: { id: string; key: string }) => Promise<void>, name: string): Promise<void> {
  const k = await createKeyViaCli(stack.w, ['--name', name]);
  const body = Buffer.from(JSON.stringify({ model: 'llama3.2', prompt: 'x'.repeat(4000), stream: false }));
  const hits = upstreamHits(stack.fake, '/api/generate');
  const s = await openTls(stack.w);
  // Resolves when the server closes (Connection: close); the bound only stops a hung test, and
  // under load a CLI change can take seconds.
  const answer = collect(s, 30_000);
  s.write(head('POST /api/generate HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${k.key}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'));
  s.write(body.subarray(0, 100));
  await change(k);
  s.write(body.subarray(100));
  const r = await answer;
  assert.deepEqual(r.statuses, [401], `the request went through: ${r.text.slice(0, 300)}`);
  assert.equal(upstreamHits(stack.fake, '/api/generate'), hits, 'the request reached Ollama');
}

describe('a key that stops being valid while its request is under way', () => {
  it('is refused when revoked while the body is still arriving: nothing is forwarded', async () => {
    await changeWhileUploading(async (k) => {
      const rev = await runCli(['keys', 'revoke', k.id], { dataDir: stack.w.dataDir });
      assert.equal(rev.code, 0, rev.stderr);
      await until('the server to see the revocation', async () => (await status(k.key)) === 401);
    }, 'body-revoked');
  });

  it('is refused when its secret is rotated away (--grace 0) while the body is still arriving', async () => {
    await changeWhileUploading(async (k) => {
      const rot = await runCli(['keys', 'rotate', k.id, '--grace', '0s'], { dataDir: stack.w.dataDir });
      assert.equal(rot.code, 0, rot.stderr);
      await until('the server to see the rotation', async () => (await status(k.key)) === 401);
    }, 'body-rotated');
  });

  it('is refused when it expires while the body is still arriving', async () => {
    const expiry = 3000;
    await changeWhileUploading(async (k) => {
      await runCli(['keys', 'update', k.id, '--expires', `${expiry / 1000}s`], { dataDir: stack.w.dataDir });
      await until('the key to expire', async () => (await status(k.key)) === 401, expiry + 5000);
    }, 'body-expired');
  });

  it('has its running stream cut at the moment it expires', async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'stream-expiring', '--expires', '4s']);
    const res = await startGeneration(stack.w, k.key);
    assert.equal(res.statusCode, 200);
    const list = await runCli(['keys', 'list', '--json'], { dataDir: stack.w.dataDir });
    const expiresAt = Date.parse((JSON.parse(list.stdout) as Array<{ id: string; expiresAt: string }>).find((e) => e.id === k.id)!.expiresAt);
    let text = '';
    try {
      for await (const chunk of res.body) text += (chunk as Buffer).toString();
    } catch {
      // a cut stream may end with a reset
    }
    const endedAt = Date.now();
    assert.ok(!text.includes('"done":true'), 'the stream ran to its end (400 chunks × 25 ms = 10 s)');
    assert.ok(endedAt >= expiresAt - 50, `cut ${expiresAt - endedAt} ms before the expiry`);
    assert.ok(endedAt - expiresAt < 1000, `cut ${endedAt - expiresAt} ms after the expiry`);
  });
});
