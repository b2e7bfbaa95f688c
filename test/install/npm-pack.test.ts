// Installing without git: `npm pack` (whose prepack step builds dist/) gives a tarball that
// `npm install -g ./ollama-warden-*.tgz` installs into a prefix, after which `warden --version`,
// `warden init` and `warden serve` work on the oldest Node `engines` allows (22.13, fetched as
// the npm package node@22.13.0) and on Node 24 (the one running this test). On a Node that is
// too old (the machine's /usr/bin/node is 20), the installed command says how to run it instead,
// and that command works.
// The tarball is packed from a copy of the sources (node_modules linked), so the prepack build
// never rewrites the dist/ that other tests are running from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = mkdtempSync(join(tmpdir(), 'warden-pack-'));
const prefix = join(tmp, 'prefix');
const warden = join(prefix, 'bin', 'warden');
const OLDEST = '22.13.0';
let fake: FakeOllama;
let node22 = '';

/** The machine's environment without Warden's variables and without what `npm test` adds. */
function env(nodeDir: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(WARDEN_|npm_|NODE_OPTIONS$|INIT_CWD$)/i.test(k)) out[k] = v;
  return { ...out, LANG: 'C.UTF-8', PATH: `${nodeDir}:/usr/local/bin:/usr/bin:/bin` };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], o: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd ?? tmp, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

before(async () => {
  fake = await startFakeOllama();
  const node24Dir = dirname(process.execPath);
  // 1. Pack from a copy of the sources: prepack runs the build there.
  const src = join(tmp, 'src');
  mkdirSync(src);
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'src', 'web', 'scripts']) {
    cpSync(join(repo, f), join(src, f), { recursive: true, filter: (p) => !p.includes(`${join(repo, 'web', 'node_modules')}`) });
  }
  symlinkSync(join(repo, 'node_modules'), join(src, 'node_modules'));
  const out = join(tmp, 'out');
  mkdirSync(out);
  ok(await run('npm', ['pack', '--pack-destination', out], { cwd: src, env: env(node24Dir) }), 'npm pack');
  const tarballs = readdirSync(out).filter((f) => /^ollama-warden-.*\.tgz$/.test(f));
  assert.equal(tarballs.length, 1, `one tarball: ${tarballs.join(', ')}`);
  const tgz = join(out, tarballs[0]!);
  const listing = await run('tar', ['tzf', tgz], { env: env(node24Dir) });
  for (const f of ['package/dist/src/cli/main.js', 'package/dist/web/index.html', 'package/scripts/install.sh']) assert.ok(listing.stdout.split('\n').includes(f), `${f} is in the tarball`);
  assert.ok(!listing.stdout.includes('package/test/'), 'no tests in the tarball');
  // 2. Install it as a user would, into a prefix of its own.
  ok(await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tgz], { env: env(node24Dir) }), 'npm install -g');
  // 3. The oldest Node that engines allows, from the npm registry (as scripts/install.sh gets Node).
  const n22 = join(tmp, 'node22');
  mkdirSync(n22);
  writeFileSync(join(n22, 'package.json'), '{"private":true,"allowScripts":{"node":true}}\n');
  ok(await run('npm', ['install', '--no-audit', '--no-fund', '--no-save', `node@${OLDEST}`], { cwd: n22, env: env(node24Dir) }), `npm install node@${OLDEST}`);
  node22 = join(n22, 'node_modules', 'node', 'bin');
});

after(async () => {
  await fake?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('engines says what the tests run on', () => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> };
  assert.equal(pkg.engines.node, `>=${OLDEST.split('.').slice(0, 2).join('.')}`);
  assert.match(pkg.scripts.prepack ?? '', /npm run build/);
});

for (const which of ['22.13', '24']) {
  test(`the installed warden runs --version, init and serve on Node ${which}`, async () => {
    const nodeDir = which === '24' ? dirname(process.execPath) : node22;
    const e = env(nodeDir);
    const v = await run('node', ['--version'], { env: e });
    assert.ok(v.stdout.startsWith(which === '24' ? 'v24.' : `v${OLDEST}`), v.stdout);

    const ver = await run(warden, ['--version'], { env: e });
    ok(ver, 'warden --version');
    assert.equal(ver.stdout.trim(), version);

    const dataDir = join(tmp, `data-${which}`);
    const init = await run(warden, ['--data-dir', dataDir, 'init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { env: e });
    ok(init, 'warden init');
    const key = /owk_[A-Za-z0-9_]+/.exec(init.stdout)?.[0];
    assert.ok(key, 'init printed the admin key');

    const proc = spawn(warden, ['--data-dir', dataDir, 'serve'], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8') } });
    try {
      const url = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`serve did not start:\n${out}`)), 60_000);
        proc.stdout.on('data', () => {
          const m = /listening on (https:\/\/[^\s"]+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            res(m[1]!);
          }
        });
        proc.once('exit', (code) => rej(new Error(`serve exited ${code}:\n${out}`)));
      });
      const before = fake.requests.length;
      const res = await request(`${url}/api/tags`, { headers: { authorization: `Bearer ${key}` }, dispatcher });
      assert.equal(res.statusCode, 200, await res.body.text());
      assert.ok(fake.requests.length > before, 'the request reached Ollama');
      const ui = await request(`${url}/_warden/`, { dispatcher });
      assert.equal(ui.statusCode, 200);
      assert.match(await ui.body.text(), /<script type="module"/, 'the web UI is in the package');
    } finally {
      await dispatcher.close();
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });
}

test('on a Node that is too old, the installed warden says how to run it, and that command works', async (t) => {
  const old = '/usr/bin/node';
  const e = env('/usr/bin');
  const v = existsSync(old) ? (await run(old, ['-p', 'process.versions.node'], { env: e })).stdout.trim() : '';
  const [major = 0, minor = 0] = v.split('.').map(Number);
  if (!(major > 0 && (major < 22 || (major === 22 && minor < 13)))) {
    if (process.env.CI === 'true') assert.fail(`this test needs a Node older than 22.13 at ${old} (got "${v}")`);
    return t.skip(`no Node older than 22.13 at ${old}`);
  }
  const r = await run(warden, ['--data-dir', join(tmp, 'old node'), 'keys', 'list'], { env: e });
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`Node\\.js ${v.replace(/\./g, '\\.')} is too old; Warden needs Node\\.js 22\\.13 or newer`));
  const main = realpathSync(warden);
  const line = r.stderr.split('\n').find((l) => l.trim().startsWith('npx -y node@24 '));
  assert.equal(line?.trim(), `npx -y node@24 ${main} --data-dir 'old node' keys list`.replace(`'old node'`, `'${join(tmp, 'old node')}'`));
  // Run exactly what it printed (through a shell, as a user pastes it), with --version instead
  // of a command that needs a data dir.
  const fixed = line!.trim().replace(/ --data-dir .*$/, ' --version');
  const again = await run('sh', ['-c', fixed], { env: e, timeoutMs: 300_000 });
  ok(again, fixed);
  assert.equal(again.stdout.trim().split('\n').pop(), version);
});
