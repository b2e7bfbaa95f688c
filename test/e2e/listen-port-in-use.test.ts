// `warden serve` on an address another program holds: a clear error naming the address, exit 2,
// and nothing left behind (the per-run admin token is removed), not a stack trace or a process
// that keeps running without a listener.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { runCli, tempDir, removeDir } from '../helpers/warden.ts';

let fake: FakeOllama;
let holder: Server;
let port: number;
let dataDir: string;

before(async () => {
  fake = await startFakeOllama();
  holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  port = (holder.address() as { port: number }).port;
  dataDir = tempDir('warden-port-in-use-');
  const init = await runCli(['init', '--yes', '--listen', `127.0.0.1:${port}`, '--upstream', fake.url], { dataDir });
  assert.equal(init.code, 0, init.stderr);
});
after(async () => {
  holder.close();
  await fake.close();
  removeDir(dataDir);
});

describe('a listen address already in use', () => {
  it('warden serve exits 2 naming the address and the cause, and leaves no admin token behind', async () => {
    const r = await runCli(['serve'], { dataDir, timeoutMs: 60_000 });
    assert.equal(r.code, 2, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    const said = r.stderr + r.stdout;
    assert.match(said, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
    assert.doesNotMatch(said, /\n\s+at .+:\d+:\d+/, 'no stack trace');
    assert.equal(existsSync(join(dataDir, 'run', 'admin-token')), false, 'the run token is removed');
  });
});
