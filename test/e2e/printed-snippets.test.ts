// Every command Warden prints for a user to paste is run here, as printed (docs-run.test.ts does
// the same for the docs): `warden init`'s snippets with the local CA and with your own
// certificate (`--tls files`), and `warden cert trust`'s client lines. Not run here: the python
// lines (the ollama / httpx packages are not installed), the ollama CLI lines (no ollama binary;
// its signature scheme is run by test/e2e/ollama-cli.test.ts), the system-store lines (root and
// other OSes: docs-mirror.test.ts checks their text, cert-cli.test.ts runs --install into a
// temp dir), and the OpenAI line, a base URL rather than a command.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { runCli, startWarden, tempDir, removeDir, ROOT, type RunningWarden } from '../helpers/warden.ts';

const sh = promisify(execFile);
let fake: FakeOllama;
const dirs: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a printed line in sh, from a directory where `import "ollama"` resolves, with this Node as `node`. */
async function runLine(line: string, env: Record<string, string> = {}): Promise<string> {
  const work = tempDir('warden-snippet-');
  dirs.push(work);
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  const cmd = line.trim().replace(/(^|\s)node /, `$1${JSON.stringify(process.execPath)} `);
  const { stdout } = await sh('sh', ['-c', cmd], { timeout: 30_000, cwd: work, env: { ...process.env, ...env } });
  return stdout;
}

const lineWith = (text: string, needle: string | RegExp): string => {
  const line = text.split('\n').find((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
  assert.ok(line, `no line with ${String(needle)} in:\n${text}`);
  return line;
};

before(async () => {
  fake = await startFakeOllama();
});
after(async () => {
  await fake?.close();
  for (const d of dirs) removeDir(d);
});

describe('local CA: what init and cert trust print', () => {
  let w: RunningWarden;
  let printed = '';
  let trust = '';
  let key = '';
  before(async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const init = await runCli(['init', '--yes', '--listen', `127.0.0.1:${await freePort()}`, '--upstream', fake.url], { dataDir });
    assert.equal(init.code, 0, init.stderr);
    printed = init.stdout;
    key = /owk_[A-Za-z0-9_]+/.exec(printed)![0];
    w = await startWarden({ upstream: fake.url, dataDir });
    const t = await runCli(['cert', 'trust'], { dataDir });
    assert.equal(t.code, 0, t.stderr);
    trust = t.stdout;
  });
  after(async () => {
    await w?.stop();
  });

  it('init: the curl line', async () => {
    const out = await runLine(lineWith(printed, /^\s+curl /) + ' --silent --show-error --fail');
    assert.match(out, /llama3\.2:latest/);
  });

  it('init: the ollama-js line', async () => {
    assert.match(await runLine(lineWith(printed, 'from "ollama"')), /llama3\.2:latest/);
  });

  it('init: the admin web UI address', async () => {
    const url = /Admin web UI[^:]*: (https:\/\/\S+)/.exec(printed)?.[1];
    assert.ok(url, printed);
    const res = await request(url, { dispatcher: w.dispatcher });
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /<div id="app">/);
  });

  it('cert trust: the curl line, with a key in WARDEN_KEY', async () => {
    const line = lineWith(trust, /^\s+curl: /).replace(/^\s+curl: /, '');
    assert.match(line, /Authorization: Bearer \$WARDEN_KEY/);
    const out = await runLine(line + ' --silent --show-error --fail', { WARDEN_KEY: key });
    assert.ok('version' in (JSON.parse(out) as object));
  });

  it('cert trust: the fingerprint check prints the fingerprint it shows', async () => {
    const fp = /SHA-256 fingerprint: (\S+)/.exec(trust)?.[1];
    const line = lineWith(trust, 'Check the fingerprint').replace(/^.*?: (?=openssl)/, '');
    assert.equal((await runLine(line)).trim().replace(/^sha256 Fingerprint=/i, ''), fp);
  });

  it('cert trust: the Node.js line trusts the CA (app.js being an ollama-js client)', async () => {
    const line = lineWith(trust, 'NODE_EXTRA_CA_CERTS').replace(/^.*?: (?=NODE_EXTRA_CA_CERTS)/, '');
    const work = tempDir('warden-snippet-app-');
    dirs.push(work);
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
    writeFileSync(join(work, 'app.js'), `import { Ollama } from 'ollama';\nconsole.log(JSON.stringify(await new Ollama({ host: '${w.url.replace('127.0.0.1', 'localhost')}', headers: { Authorization: 'Bearer ${key}' } }).list()));\n`);
    writeFileSync(join(work, 'package.json'), '{"type":"module"}\n');
    const cmd = line.replace(/(^|\s)node /, `$1${JSON.stringify(process.execPath)} `);
    const { stdout } = await sh('sh', ['-c', cmd], { cwd: work, timeout: 30_000 });
    assert.match(stdout, /llama3\.2:latest/);
  });

  it('cert trust: the Windows line names no POSIX path (it used to print a mangled \\home\\… path)', () => {
    const line = lineWith(trust, 'Windows (Administrator)');
    assert.match(line, /certutil -addstore -f Root "ca\.pem"/);
    assert.doesNotMatch(line.replace(/\(copy .* as ca\.pem first\)/, ''), /\\home|\\tmp|\/tmp|\/home/);
  });

  it('cert trust: the ollama CLI line signs in (OLLAMA_AUTH=1)', () => {
    assert.match(lineWith(trust, 'ollama CLI (Linux)'), /OLLAMA_AUTH=1 ollama list/);
  });
});

describe('your own certificate (--tls files): init prints a name on it and --cacert', () => {
  let w: RunningWarden;
  let printed = '';
  let certFile = '';
  before(async () => {
    const dir = tempDir();
    dirs.push(dir);
    // A private CA and a certificate for 127.0.0.1 only (no localhost), the CA appended.
    const ossl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Test Private CA']);
    ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'leaf.csr', '-subj', '/CN=box']);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    ossl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'leaf.pem', '-days', '20', '-extfile', 'ext.cnf']);
    certFile = join(dir, 'chain.pem');
    writeFileSync(certFile, readFileSync(join(dir, 'leaf.pem'), 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8'));
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const init = await runCli(['init', '--yes', '--tls', 'files', '--tls-cert', certFile, '--tls-key', join(dir, 'key.pem'), '--listen', `127.0.0.1:${await freePort()}`, '--upstream', fake.url], { dataDir });
    assert.equal(init.code, 0, init.stderr);
    printed = init.stdout;
    w = await startWarden({ upstream: fake.url, dataDir });
  });
  after(async () => {
    await w?.stop();
  });

  it('the curl line uses a name on the certificate and --cacert, and works as printed', async () => {
    const line = lineWith(printed, /^\s+curl /);
    assert.ok(line.includes(`--cacert ${JSON.stringify(certFile)}`), line);
    assert.match(line, /https:\/\/127\.0\.0\.1:\d+\/api\/tags/);
    assert.doesNotMatch(printed, /https:\/\/localhost/);
    assert.match(await runLine(line + ' --silent --show-error --fail'), /llama3\.2:latest/);
  });

  it('the ollama-js line works as printed', async () => {
    assert.match(await runLine(lineWith(printed, 'from "ollama"')), /llama3\.2:latest/);
  });
});
