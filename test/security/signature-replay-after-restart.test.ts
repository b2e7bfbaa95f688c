// Attack: capture one request of the stock ollama CLI (a log, a proxy, a shoulder) and send it
// again while its timestamp is still inside the ±300 s window — after Warden restarted, or to
// another instance. Before this fix each process remembered used signatures in its own memory
// only, so a restart (or a second instance) accepted the replay and forwarded it to Ollama.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { withWarden, runCli, startWarden, type RunningWarden } from '../helpers/warden.ts';
import { makeOllamaKey, OllamaCliSigner, type SignedRequest } from './ollama-cli-signer.ts';
import { upstreamHits } from './helpers.ts';

const home = mkdtempSync(join(tmpdir(), 'warden-replay-home-'));
after(() => rmSync(home, { recursive: true, force: true }));
let cli: OllamaCliSigner;

const stack = withWarden({
  ollama: { chunks: 2, delayMs: 1 },
  afterStart: async ({ w }) => {
    const keyPath = makeOllamaKey(home, 'victim@laptop');
    cli = new OllamaCliSigner(keyPath);
    const created = await runCli(['keys', 'create', '--json', '--name', 'victim-cli', '--ollama-pubkey', `${keyPath}.pub`], { dataDir: w.dataDir });
    assert.equal(created.code, 0, created.stderr);
  },
});

async function send(signed: SignedRequest, server: RunningWarden = stack.w): Promise<{ status: number; text: string }> {
  const res = await request(`${server.url}${signed.url}`, { method: 'GET', headers: signed.headers, dispatcher: server.dispatcher });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('a captured CLI signature is accepted exactly once', () => {
  it('works at once after `keys create --ollama-pubkey` (no window of 401s before the next poll)', async () => {
    // A key registered a moment ago by another process: the server checks the store on demand.
    const r = await send(cli.sign('GET', '/api/version'));
    assert.equal(r.status, 200, r.text);
  });

  it('refuses the replay after a restart of the server', async () => {
    const captured = cli.sign('GET', '/api/tags');
    assert.equal((await send(captured)).status, 200);
    assert.equal((await send(captured)).status, 401, 'a replay to the same process');
    const hits = upstreamHits(stack.fake, '/api/tags');

    await stack.w.stop();
    // the same data dir (the fixture removes it at the end)
    const restarted = await startWarden({ upstream: stack.fake.url, dataDir: stack.w.dataDir });
    try {
      const r = await send(captured, restarted);
      assert.equal(r.status, 401, `replayed after a restart: ${r.text}`);
      assert.equal(upstreamHits(stack.fake, '/api/tags'), hits, 'the replay reached Ollama');
      // The owner's next real call still works.
      assert.equal((await send(cli.sign('GET', '/api/tags'), restarted)).status, 200);
    } finally {
      await restarted.stop();
    }
  });
});
