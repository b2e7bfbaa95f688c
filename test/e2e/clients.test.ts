// Real client libraries against Warden with nothing but a key and the CA: ollama-js and the
// OpenAI SDK, each in its own process with NODE_EXTRA_CA_CERTS, as their users run them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withWarden, ROOT } from '../helpers/warden.ts';

const run = promisify(execFile);

const stack = withWarden({ ollama: { chunks: 4, delayMs: 5 } });

async function client(file: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'test', 'e2e', 'clients', file)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(stack.w.dataDir, 'tls', 'ca.pem'), WARDEN_URL: stack.w.url.replace('127.0.0.1', 'localhost'), WARDEN_KEY: stack.w.adminKey },
    cwd: ROOT,
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('client libraries', () => {
  it('ollama-js lists, streams a chat and generates with only a key and the CA', async () => {
    const r = await client('ollama-js.ts');
    assert.ok((r.models as string[]).includes('llama3.2:latest'));
    assert.ok((r.chunks as number) >= 4, `got ${String(r.chunks)} streamed parts`);
    assert.equal(r.done, true);
    assert.match(String(r.refused), /./, 'a cloud model is refused with an error the library surfaces');
    assert.ok(stack.fake.requests.every((q) => q.headers.authorization === undefined));
  });

  it('the OpenAI SDK lists models, completes, streams and embeds through /v1', async () => {
    const r = await client('openai.ts');
    assert.ok((r.models as string[]).includes('llama3.2:latest'));
    assert.equal(typeof r.content, 'string');
    assert.ok((r.deltas as number) >= 1);
    assert.ok((r.dims as number) > 0);
    assert.equal(r.wrongKeyStatus, 401);
  });
});
