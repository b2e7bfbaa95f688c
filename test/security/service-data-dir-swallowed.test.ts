// `warden service install --data-dir DIR` wrote a unit pointing at the default data directory:
// the program's global --data-dir took the flag, the subcommand saw none. A service started on
// the wrong directory serves another key store (or initialises an empty one).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir, removeDir } from '../helpers/warden.ts';

const root = tempDir();
after(() => removeDir(root));

describe('service commands use --data-dir', () => {
  // (uninstall and status plans name only the definition, not the data dir)
  for (const sub of ['install']) {
    it(`service ${sub} --dry-run --data-dir DIR names DIR, not the default`, async () => {
      const dataDir = join(root, `chosen ${sub}`);
      const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0'], { dataDir });
      assert.equal(init.code, 0, init.stderr);
      const home = join(root, `home-${sub}`);
      // the flag after the subcommand, as the docs and the installer write it
      const r = await runCli(['service', sub, '--dry-run', '--scope', 'user', '--data-dir', dataDir], { env: { HOME: home, XDG_DATA_HOME: join(home, 'xdg') } });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes(dataDir), `the plan does not name ${dataDir}:\n${r.stdout}`);
      assert.ok(!r.stdout.includes(join(home, 'xdg')), `the plan names the default data dir:\n${r.stdout}`);
    });
  }
});
