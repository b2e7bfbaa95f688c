// The single executable (`npm run package` = `npm run build` + scripts/build-sea.ts): built
// here from the dist/ that `npm test` has just built, copied alone into an empty directory,
// and run with a PATH that holds no Node.js and no node_modules anywhere near: init, serve, a
// key made with `warden keys create`, a request proxied through it to the stand-in Ollama,
// and the web UI's page and script.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = mkdtempSync(join(tmpdir(), 'warden-sea-'));
const home = join(tmp, 'home');
const emptyBin = join(tmp, 'empty-bin');
const exe = join(home, 'warden');
let fake: FakeOllama;
let buildSeconds = 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** No Node.js on the PATH, a HOME of its own, nothing of the caller's environment. */
const env = (): NodeJS.ProcessEnv => ({ PATH: emptyBin, HOME: home, LANG: 'C.UTF-8' });

function run(cmd: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 300_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

const warden = (args: string[]): Promise<Run> => run(exe, ['--data-dir', join(home, 'data'), ...args], { cwd: home, env: env(), timeoutMs: 60_000 });

before(async () => {
  fake = await startFakeOllama();
  mkdirSync(home);
  mkdirSync(emptyBin);
  const started = Date.now();
  const built = await run(process.execPath, [join(repo, 'scripts', 'build-sea.ts')], { cwd: repo, env: { ...process.env } });
  ok(built, 'scripts/build-sea.ts');
  buildSeconds = (Date.now() - started) / 1000;
  copyFileSync(join(repo, 'dist', 'sea', 'warden'), exe);
});

after(async () => {
  await fake?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('the single executable runs init, keys, serve, a proxied request and the web UI with no Node.js and no node_modules', async () => {
  assert.ok(buildSeconds < 300, `built in ${buildSeconds} s`);
  assert.ok(statSync(exe).mode & 0o100, 'executable');
  const ver = await warden(['--version']);
  ok(ver, 'warden --version');
  assert.equal(ver.stdout.trim(), version);

  const init = await warden(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url]);
  ok(init, 'warden init');
  assert.match(init.stdout, /owk_/);

  const created = await warden(['keys', 'create', '--name', 'sea', '--json']);
  ok(created, 'warden keys create');
  const key = (JSON.parse(created.stdout) as { key: string }).key;
  const list = await warden(['keys', 'list']);
  ok(list, 'warden keys list');
  assert.match(list.stdout, /\bsea\b/);

  const proc: ChildProcess = spawn(exe, ['--data-dir', join(home, 'data'), 'serve'], { cwd: home, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(home, 'data', 'tls', 'ca.pem'), 'utf8') } });
  try {
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`serve did not start:\n${out}`)), 60_000);
      proc.stdout!.on('data', () => {
        const m = /listening on (https:\/\/[^\s"]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          res(m[1]!);
        }
      });
      proc.once('exit', (code) => rej(new Error(`serve exited ${code}:\n${out}`)));
    });
    const seen = fake.requests.length;
    const chat = await request(`${url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false }),
      dispatcher,
    });
    assert.equal(chat.statusCode, 200, await chat.body.text());
    assert.equal(fake.requests.length, seen + 1, 'the request reached Ollama through the executable');
    assert.equal(fake.requests.at(-1)!.url, '/api/chat');
    const refused = await request(`${url}/api/tags`, { dispatcher });
    await refused.body.text();
    assert.equal(refused.statusCode, 401, 'no key, no answer');

    const page = await request(`${url}/_warden/keys`, { dispatcher });
    const html = await page.body.text();
    assert.equal(page.statusCode, 200);
    const script = /src="(\/_warden\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, `the UI page names its script: ${html}`);
    const js = await request(`${url}${script}`, { dispatcher });
    assert.equal(js.statusCode, 200);
    assert.equal(await js.body.text(), readFileSync(join(repo, 'dist', script.replace('/_warden/', 'web/')), 'utf8'));
  } finally {
    await dispatcher.close();
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
});
