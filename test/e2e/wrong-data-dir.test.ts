// A mistyped --data-dir or --config is an error (exit 2, naming the path and how to create a
// data dir), never a new empty store: `keys create` there used to print a key no server would
// ever accept. Only `init` and `serve`'s first run may create a data dir.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { runCli, tempDir, removeDir } from '../helpers/warden.ts';

let fake: FakeOllama;
let root: string;

before(async () => {
  fake = await startFakeOllama();
  root = tempDir('warden-wrongdir-');
});
after(async () => {
  await fake.close();
  removeDir(root);
});

const COMMANDS: string[][] = [
  ['keys', 'list'],
  ['keys', 'create', '--name', 'x'],
  ['keys', 'revoke', 'x'],
  ['status'],
  ['status', '--json'],
  ['cert', 'status'],
  ['cert', 'trust'],
  ['cert', 'client', 'list'],
  ['cert', 'client', 'issue', 'laptop', '--out', join(tmpdir(), 'warden-unused-out')],
  ['audit'],
  ['doctor'],
];

describe('a data dir that does not exist', () => {
  for (const args of COMMANDS) {
    it(`warden ${args.join(' ')} refuses it with exit 2 and creates nothing`, async () => {
      const missing = join(root, `missing-${args.join('-')}`);
      const r = await runCli(args, { dataDir: missing });
      assert.equal(r.code, 2, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.ok(r.stderr.includes(missing), `names the path: ${r.stderr}`);
      assert.ok(r.stderr.includes(`warden init --data-dir ${missing}`), `says how to create one: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /owk_/, 'no key is printed');
      assert.equal(existsSync(missing), false, 'nothing was created');
    });
  }
});

describe('a data dir without a store', () => {
  it('an existing but empty directory is refused and stays empty', async () => {
    const d = join(root, 'empty');
    mkdirSync(d);
    const r = await runCli(['keys', 'create', '--name', 'x'], { dataDir: d });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no Warden store in .*warden\.db does not exist/);
    assert.deepEqual(readdirSync(d), []);
  });

  it('after init the same commands work', async () => {
    const d = join(root, 'serve-first');
    const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    assert.equal(init.code, 0, init.stderr);
    const r = await runCli(['keys', 'list'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /admin/);
  });
});

describe('--config', () => {
  it('a config file that does not exist is an error', async () => {
    const d = join(root, 'cfg');
    const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    assert.equal(init.code, 0, init.stderr);
    const typo = join(d, 'wardne.yaml');
    for (const args of [['keys', 'list'], ['status'], ['serve']]) {
      const r = await runCli(['--config', typo, ...args], { dataDir: d, timeoutMs: 20_000 });
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`config file ${typo} does not exist`), r.stderr);
      assert.equal(existsSync(typo), false);
    }
  });

  it('an existing --config file is used', async () => {
    const d = join(root, 'cfg2');
    const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    assert.equal(init.code, 0, init.stderr);
    const other = join(root, 'other.yaml');
    writeFileSync(other, 'listen: "127.0.0.1:0"\n');
    const r = await runCli(['--config', other, 'keys', 'list'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
  });
});
