// `warden keys create|update` flags a new user trips on: `--model ''` (an unset shell variable)
// must not grant every model, and `--bind-cert` while mutual TLS is off must say the key cannot
// be used yet.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir, removeDir } from '../helpers/warden.ts';

let d: string;

before(async () => {
  d = tempDir();
  const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], { dataDir: d });
  assert.equal(init.code, 0, init.stderr);
});
after(() => removeDir(d));

const keyNames = async (): Promise<string[]> => (JSON.parse((await runCli(['keys', 'list', '--json'], { dataDir: d })).stdout) as Array<{ name: string }>).map((k) => k.name);

describe("--model ''", () => {
  for (const value of ['', ' ', ',']) {
    it(`keys create --model ${JSON.stringify(value)} is refused with exit 2 and creates no key`, async () => {
      const r = await runCli(['keys', 'create', '--name', `empty-${value.length}`, '--model', value], { dataDir: d });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--model: got .*an empty pattern/);
      assert.doesNotMatch(r.stdout, /owk_/);
      assert.ok(!(await keyNames()).includes(`empty-${value.length}`));
    });
  }

  it("keys update --model '' is refused and leaves the key's models as they were", async () => {
    const created = JSON.parse((await runCli(['keys', 'create', '--name', 'narrow', '--model', 'llama3.*', '--json'], { dataDir: d })).stdout) as { id: string };
    const r = await runCli(['keys', 'update', created.id, '--model', ''], { dataDir: d });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--model/);
    const shown = JSON.parse((await runCli(['keys', 'show', created.id, '--json'], { dataDir: d })).stdout) as { models: string[] };
    assert.deepEqual(shown.models, ['llama3.*']);
  });
});

describe('--bind-cert while mutual TLS is off', () => {
  it('warns that the key can never be used until mutual TLS is on; no warning once it is', async () => {
    const issued = await runCli(['cert', 'client', 'issue', 'laptop', '--out', join(d, 'clients')], { dataDir: d });
    assert.equal(issued.code, 0, issued.stderr);
    const off = await runCli(['keys', 'create', '--name', 'bound', '--bind-cert', 'laptop', '--json'], { dataDir: d });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stderr, /warning: mutual TLS is off .*can never be used until it is on/);
    const id = (JSON.parse(off.stdout) as { id: string }).id;
    const update = await runCli(['keys', 'update', id, '--bind-cert', 'laptop'], { dataDir: d });
    assert.match(update.stderr, /mutual TLS is off/);
    const on = await runCli(['keys', 'create', '--name', 'bound2', '--bind-cert', 'laptop'], { dataDir: d, env: { WARDEN_TLS_CLIENT_AUTH: 'optional' } });
    assert.equal(on.code, 0, on.stderr);
    assert.equal(on.stderr, '');
  });
});
