// A planted source run as root: `curl … | sudo bash` of install.sh took the parent of the
// current directory as the Warden checkout, checked only a package name, ran `npm pack` (with
// the source's lifecycle scripts) and then the found main.js as root. Any local user who could
// write near where the admin stood could run code as root. The installer now installs only
// from --from PATH when piped, refuses sources (and their parents) another user owns or can
// write, packs with --ignore-scripts, and unpacks the Node runtime only after its pinned SHA-512
// matched. Nothing here reaches the internet: downloads come from 127.0.0.1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { startLocalRegistry, type LocalRegistry } from '../install/local-registry.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const script = join(repo, 'scripts', 'install.sh');
const tmp = mkdtempSync(join(tmpdir(), 'warden-planted-'));
chmodSync(tmp, 0o700);
after(() => rmSync(tmp, { recursive: true, force: true }));

/** PATH with a Node new enough, so nothing but the source checks can stop an old installer. */
const PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;

function env(over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(WARDEN_|npm_|NODE_OPTIONS$|INIT_CWD$|SUDO_)/i.test(k)) e[k] = v;
  return { ...e, TMPDIR: tmp, LANG: 'C.UTF-8', PATH, npm_config_offline: 'true', ...over };
}

/** A fake "Warden checkout" whose every way of running code leaves a marker file. */
function plant(dir: string, marker: string): void {
  mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  const touch = `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran")`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ollama-warden', version: '6.6.6', scripts: { prepack: `node -e '${touch}'`, prepare: `node -e '${touch}'` } }));
  writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), `${touch};\nconsole.log("6.6.6");\n`);
}

function piped(args: string[], cwd: string, over: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', ['-s', '--', ...args], { cwd, input: readFileSync(script, 'utf8'), encoding: 'utf8', env: env(over), timeout: 120_000 });
}
function asFile(args: string[], over: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', [script, ...args], { input: '', encoding: 'utf8', env: env(over), timeout: 120_000 });
}

let n = 0;
function target(): string[] {
  n++;
  return ['--non-interactive', '--no-service', '--no-link', '--prefix', join(tmp, `prefix${n}`), '--data-dir', join(tmp, `data${n}`)];
}

describe('piped installer: where the program comes from', () => {
  it('without --from it builds nothing from around the current directory', () => {
    const shared = join(tmp, 'shared');
    const marker = join(tmp, 'ran-piped');
    plant(shared, marker);
    mkdirSync(join(shared, 'work'), { recursive: true });
    const args = target();
    const r = piped(args, join(shared, 'work'));
    assert.equal(r.status, 2, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /--from PATH/);
    assert.ok(!existsSync(marker), 'code from the planted source ran');
    assert.ok(!existsSync(args[5]!), 'the prefix was created');
  });

  const refusals: Array<{ what: string; make(dir: string): void; root?: boolean }> = [
    { what: 'a source other users can write', make: (d) => chmodSync(d, 0o777) },
    { what: 'a source in a directory other users can write (no sticky bit)', make: (d) => chmodSync(dirname(d), 0o777) },
    { what: 'a source with one file other users can write', make: (d) => chmodSync(join(d, 'dist', 'src', 'cli', 'main.js'), 0o666) },
    { what: 'a source owned by another user', make: (d) => chownSync(join(d, 'dist', 'src', 'cli', 'main.js'), 4242, 4242), root: true },
  ];
  for (const c of refusals) {
    const skip = c.root && process.getuid?.() !== 0 ? 'needs root to give a file to another user' : false;
    it(`--from refuses ${c.what}`, { skip }, () => {
      const parent = join(tmp, `p${++n}`);
      const src = join(parent, 'src');
      const marker = join(tmp, `ran-${n}`);
      mkdirSync(parent, { mode: 0o755 });
      plant(src, marker);
      c.make(src);
      const r = piped([...target(), '--from', src], tmp);
      assert.equal(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /refusing to install from/);
      assert.ok(!existsSync(marker), 'code from the refused source ran');
    });
  }

  it('--from a tarball other users can write is refused', () => {
    const tgz = join(tmp, 'warden.tgz');
    writeFileSync(tgz, 'not really', { mode: 0o666 });
    chmodSync(tgz, 0o666);
    const r = piped([...target(), '--from', tgz], tmp);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /writable by other users/);
  });
});

describe('installer downloads are pinned', () => {
  let reg: LocalRegistry;
  before(async () => {
    const files = join(tmp, 'registry');
    mkdirSync(files);
    // What a compromised mirror or a man in the middle would hand out instead of Node.
    const evil = join(tmp, 'evil');
    mkdirSync(join(evil, 'package', 'bin'), { recursive: true });
    writeFileSync(join(evil, 'package', 'bin', 'node'), `#!/bin/sh\necho ran > ${JSON.stringify(join(tmp, 'ran-evil-node'))}\necho 24.21.0\n`, { mode: 0o755 });
    for (const p of ['linux-x64', 'linux-arm64']) spawnSync('tar', ['-czf', join(files, `node-${p}-24.21.0.tgz`), '-C', evil, 'package']);
    reg = await startLocalRegistry(files);
  });
  after(() => reg?.close());

  it('a Node runtime whose SHA-512 does not match the pin is never unpacked or run', () => {
    const args = target();
    // Only the system's Node (too old or missing), so the installer must fetch one.
    const r = asFile(args, { PATH: '/usr/bin:/bin', WARDEN_NODE_REGISTRY: reg.url });
    const old = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    if (/^2[4-9]\./.test(old)) assert.fail(`this machine's /usr/bin/node (${old}) is new enough, so no download happens`);
    assert.equal(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /does not match the pinned SHA-512/);
    assert.ok(!existsSync(join(args[3]!, 'runtime', 'bin', 'node')), 'the download was unpacked');
    assert.ok(!existsSync(join(tmp, 'ran-evil-node')), 'the downloaded binary ran');
  });
});
