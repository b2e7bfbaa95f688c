// A secret in a service's journal: `serve` started by systemd (or any definition `warden service
// install` writes) on an empty data dir used to initialise it and print the first admin key to
// stdout, which is the journal, readable by the adm/systemd-journal groups and kept in backups.
// Now it refuses and says to run `warden init`; `init --key-file` (what the installer runs)
// writes the key to a 0600 file and never prints it.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, removeDir } from '../helpers/warden.ts';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));
function fresh(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

describe('serve under a service manager on an empty data dir', () => {
  const envs: Array<Record<string, string>> = [{ INVOCATION_ID: '0123456789abcdef0123456789abcdef' }, { JOURNAL_STREAM: '8:12345' }, { WARDEN_SERVICE: '1' }];
  for (const env of envs) {
    it(`refuses to initialise it and prints no key (${Object.keys(env)[0]})`, async () => {
      const dataDir = join(fresh(), 'data');
      const r = await runCli(['serve', '--listen', '127.0.0.1:0'], { dataDir, env, timeoutMs: 20_000 });
      assert.equal(r.code, 2, `serve did not refuse: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /owk_/, 'a key reached the service log');
      assert.match(r.stderr, /warden init --data-dir/);
      assert.ok(!existsSync(join(dataDir, 'warden.db')), 'a key store was created anyway');
    });
  }

  it('a terminal-less run outside a service manager (CI, the README quickstart) still initialises', async () => {
    // Covered end to end by test/e2e/cli.test.ts; here only that the rule does not catch it.
    const { serviceManager } = await import('../../src/cli/commands/serve.ts');
    assert.equal(serviceManager({}, false), null);
    assert.equal(serviceManager({ INVOCATION_ID: 'x' }, true), null, 'a person at a terminal is not a service');
  });
});

describe('init --key-file', () => {
  it('writes the first admin key to a new 0600 file, says where, and never prints it', async () => {
    const dataDir = fresh();
    const keyFile = join(fresh(), 'first-admin-key');
    const r = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--key-file', keyFile], { dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /owk_/);
    assert.ok(r.stdout.includes(keyFile), r.stdout);
    assert.match(readFileSync(keyFile, 'utf8'), /^owk_[A-Za-z0-9]+_[A-Za-z0-9]+\n$/);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  });

  it('refuses a file that already exists (planted or left over) before creating anything', async () => {
    const dataDir = join(fresh(), 'data');
    const keyFile = join(fresh(), 'planted');
    writeFileSync(keyFile, 'attacker', { mode: 0o644 });
    const r = await runCli(['init', '--yes', '--key-file', keyFile], { dataDir });
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /--key-file: .* already exists/);
    assert.equal(readFileSync(keyFile, 'utf8'), 'attacker');
    assert.ok(!existsSync(dataDir) || readdirSync(dataDir).length === 0, 'init went on after refusing');
  });
});
