// The README quickstart's promise: `warden init` prints a curl command (and an ollama-js one)
// that work exactly as printed against the server `warden serve` then starts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { runCli, startWarden, tempDir, removeDir, ROOT, type RunningWarden } from '../helpers/warden.ts';

const sh = promisify(execFile);
let fake: FakeOllama;
let w: RunningWarden;
let printed = '';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  fake = await startFakeOllama();
  const dataDir = tempDir();
  const port = await freePort();
  const init = await runCli(['init', '--yes', '--listen', `127.0.0.1:${port}`, '--upstream', fake.url], { dataDir });
  assert.equal(init.code, 0, init.stderr);
  printed = init.stdout;
  w = await startWarden({ upstream: fake.url, dataDir });
});
after(async () => {
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

describe('printed snippets', () => {
  it('prints the CA path, its SHA-256 fingerprint and the key once', () => {
    assert.match(printed, /tls\/ca\.pem/);
    assert.match(printed, /fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.match(printed, /shown ONCE[^\n]*\n\n {2}owk_[A-Za-z0-9]+_[A-Za-z0-9]+\n/);
  });

  it('the curl command works as printed', async () => {
    const line = printed.split('\n').find((l) => l.trim().startsWith('curl '))!;
    assert.ok(line, 'no curl line printed');
    const { stdout } = await sh('sh', ['-c', line.trim() + ' --silent --show-error --fail'], { timeout: 20_000 });
    const tags = JSON.parse(stdout) as { models: Array<{ name: string }> };
    assert.ok(tags.models.some((m) => m.name === 'llama3.2:latest'));
  });

  it('the ollama-js command works as printed', async () => {
    const line = printed.split('\n').find((l) => l.includes('from "ollama"'))!;
    assert.ok(line, 'no ollama-js line printed');
    // The printed `node` is whatever node the user has; here that is this Node 24.
    const cmd = line.trim().replace(/(^|\s)node /, `$1${JSON.stringify(process.execPath)} `);
    const { stdout } = await sh('sh', ['-c', cmd], { timeout: 20_000, cwd: ROOT });
    assert.match(stdout, /llama3\.2:latest/);
  });
});
