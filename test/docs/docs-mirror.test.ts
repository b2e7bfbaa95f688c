// Doc blocks that cannot run here as they stand — another OS's trust store, Python packages
// (PyPI is out of reach), a public domain for certbot, a sudo/systemctl on a real service — are
// mirrored: each test below takes the block's exact text, checks it against what Warden or the
// installer really prints or does, and performs the same requests or file operations against
// a real Warden. `mirrored(doc, id)` fails when the doc block it mirrors changes its id.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { sign, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, chmodSync, existsSync, symlinkSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import { request } from 'undici';
import { mirrored, docBlocks, ROOT } from './blocks.ts';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, runCli, tempDir, removeDir, CLI, cleanEnv, type RunningWarden } from '../helpers/warden.ts';
import { trustInstructions, installCommands, stepText } from '../../src/tls/trust.ts';

let sandbox = '';
let fake: FakeOllama;
let w: RunningWarden;
let key = '';

before(async () => {
  sandbox = tempDir('warden-mirror-');
  fake = await startFakeOllama({ delayMs: 0 });
  w = await startWarden({ upstream: fake.url, dataDir: join(sandbox, 'main') });
  const created = await runCli(['keys', 'create', '--name', 'mirror', '--json'], { dataDir: w.dataDir });
  assert.equal(created.code, 0, created.stderr);
  key = (JSON.parse(created.stdout) as { key: string }).key;
  await waitAccepted(w, key);
});

after(async () => {
  await w?.stop();
  await fake?.close();
  if (sandbox) removeDir(sandbox);
});

async function waitAccepted(server: RunningWarden, k: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const r = await request(`${server.url}/api/version`, { headers: { authorization: `Bearer ${k}` }, dispatcher: server.dispatcher });
    await r.body.text();
    if (r.statusCode === 200) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('key not accepted');
}

/** bash with a stub directory first on the PATH (sudo runs its arguments; others log). */
function bash(code: string, env: Record<string, string> = {}, cwd = sandbox): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', code], { cwd, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, out }));
  });
}

function stubs(dir: string, names: string[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sudo'), '#!/bin/sh\nexec "$@"\n');
  for (const n of names) writeFileSync(join(dir, n), `#!/bin/sh\necho "${n} $*" >> "${join(dir, 'calls.log')}"\n`);
  for (const n of ['sudo', ...names]) chmodSync(join(dir, n), 0o755);
  writeFileSync(join(dir, 'warden'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
  chmodSync(join(dir, 'warden'), 0o755);
  return dir;
}

/** The certificate a TLS server presents for servername, verified against ca. */
function presented(port: number, servername: string, ca: string): Promise<{ subject: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      resolve({ subject: String(c.subject.CN ?? ''), authorized: s.authorized });
      s.end();
    });
    s.on('error', reject);
  });
}

const CHAT = { model: 'llama3.2', messages: [{ role: 'user', content: 'Hello' }], stream: false };

void describe('tls.md', () => {
  const caPath = '/home/ana/.local/share/warden/tls/ca.pem';
  const fp = 'AB:CD';

  void test('trust-os: each system-store command is what `warden cert trust` prints', () => {
    const printed = trustInstructions(caPath, fp);
    const lines = mirrored('tls.md', 'trust-os').code.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(lines.length, 3);
    for (const line of lines) {
      const withPath = line.replaceAll('~/.local/share/warden/tls/ca.pem', caPath);
      assert.ok(printed.includes(withPath), `not printed by warden cert trust:\n${withPath}\n---\n${printed}`);
    }
    // and --install runs exactly the macOS command shown
    assert.equal(`sudo ${stepText(installCommands('darwin', caPath)[0]!, 'darwin')}`, lines[2]!.replaceAll('~/.local/share/warden/tls/ca.pem', caPath));
  });

  void test('trust-windows: the certutil line is what Warden prints and runs on Windows', () => {
    const line = mirrored('tls.md', 'trust-windows').code.trim();
    const winCa = 'C:\\ProgramData\\warden\\tls\\ca.pem';
    assert.ok(trustInstructions(winCa, fp).includes(line), line);
    assert.equal(stepText(installCommands('win32', winCa)[0]!, 'win32').replace(/ "?C:.*$/, ''), line.replace(/ "C:.*$/, ''));
  });

  void test('init-files: the openssl recipe + `warden init --tls files` serve the gpu.lan certificate', async () => {
    const dir = join(sandbox, 'files');
    mkdirSync(dir);
    const opensslBlock = docBlocks('tls.md').find((b) => b.marker.kind === 'run' && b.code.includes('gpu.lan.csr'));
    assert.ok(opensslBlock, 'the openssl run block is gone from tls.md');
    const data = join(dir, 'data');
    const bin = stubs(join(dir, 'bin'), []);
    const r = await bash(`${opensslBlock.code}\n${mirrored('tls.md', 'init-files').code}`, { WARDEN_DATA_DIR: data, PATH: `${bin}:${process.env.PATH ?? ''}` }, dir);
    assert.equal(r.code, 0, r.out);
    const server = await startWarden({ upstream: fake.url, dataDir: data, skipInit: true, args: ['--listen', '127.0.0.1:0'] });
    try {
      const got = await presented(server.port, 'gpu.lan', readFileSync(join(dir, 'lab-ca.pem'), 'utf8'));
      assert.deepEqual(got, { subject: 'gpu.lan', authorized: true });
    } finally {
      await server.stop();
    }
  });

  void test('certbot: the deploy hook puts a renewal where the files config points, and Warden serves it', async () => {
    const block = mirrored('tls.md', 'certbot').code;
    assert.match(block, /^sudo certbot certonly --standalone -d gpu\.example\.com \\\n {2}--deploy-hook '(.+)'$/);
    const hook = /--deploy-hook '(.+)'$/.exec(block)![1]!;
    // certbot's layout: live/NAME/*.pem are symlinks into archive/NAME/*1.pem.
    const le = join(sandbox, 'letsencrypt');
    const archive = join(le, 'archive', 'gpu.example.com');
    const live = join(le, 'live', 'gpu.example.com');
    mkdirSync(archive, { recursive: true });
    mkdirSync(live, { recursive: true });
    const mk = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '90', '-subj', '/CN=gpu.example.com', '-addext', 'subjectAltName=DNS:gpu.example.com', '-keyout', join(archive, 'privkey1.pem'), '-out', join(archive, 'fullchain1.pem')], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    symlinkSync('../../archive/gpu.example.com/fullchain1.pem', join(live, 'fullchain.pem'));
    symlinkSync('../../archive/gpu.example.com/privkey1.pem', join(live, 'privkey.pem'));
    // The hook as certbot runs it (sh -c, RENEWED_LINEAGE set); the service account and the
    // data dir are this test's own.
    const data = join(sandbox, 'certbot-data');
    mkdirSync(join(data, 'tls'), { recursive: true });
    const me = `${spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim()}`;
    const grp = `${spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim()}`;
    const hookHere = hook.replace('-o warden -g warden', `-o ${me} -g ${grp}`).replace('/var/lib/warden/tls/', `${data}/tls/`);
    const run = spawnSync('sh', ['-c', hookHere], { env: { ...process.env, RENEWED_LINEAGE: live }, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal((await import('node:fs')).statSync(join(data, 'tls', 'privkey.pem')).mode & 0o777, 0o600);
    // The files config that follows the block in tls.md, pointed at this data dir.
    const yamlBlock = docBlocks('tls.md').find((b) => b.lang === 'yaml' && b.code.includes('fullchain.pem'))!;
    const doc = parseDocument(yamlBlock.code.replaceAll('/var/lib/warden', data));
    writeFileSync(join(data, 'warden.yaml'), `${String(doc)}listen: 127.0.0.1:0\nupstream: ${fake.url}\n`);
    const server = await startWarden({ upstream: fake.url, dataDir: data, skipInit: true });
    try {
      const got = await presented(server.port, 'gpu.example.com', readFileSync(join(archive, 'fullchain1.pem'), 'utf8'));
      assert.deepEqual(got, { subject: 'gpu.example.com', authorized: true });
    } finally {
      await server.stop();
    }
  });

  void test('mtls-curl: with clientAuth require, the documented curl gets in with alice\'s certificate and not without', async () => {
    const home = join(sandbox, 'mtls-home');
    const data = join(home, '.local', 'share', 'warden');
    mkdirSync(data, { recursive: true });
    const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: data });
    assert.equal(init.code, 0, init.stderr);
    const work = join(sandbox, 'mtls-work');
    mkdirSync(work);
    const issue = await runCli(['cert', 'client', 'issue', 'alice', '--out', join(work, 'alice')], { dataDir: data });
    assert.equal(issue.code, 0, issue.stderr);
    const doc = parseDocument(readFileSync(join(data, 'warden.yaml'), 'utf8'));
    doc.setIn(['tls', 'clientAuth'], (parseYaml(docBlocks('tls.md').find((b) => b.lang === 'yaml' && b.code.includes('clientAuth'))!.code) as { tls: { clientAuth: string } }).tls.clientAuth);
    writeFileSync(join(data, 'warden.yaml'), String(doc));
    const created = await runCli(['keys', 'create', '--name', 'alice-key', '--json'], { dataDir: data });
    const aliceKey = (JSON.parse(created.stdout) as { key: string }).key;
    const server = await startWarden({ upstream: fake.url, dataDir: data, skipInit: true });
    try {
      const curl = mirrored('tls.md', 'mtls-curl').code.replaceAll('11443', String(server.port));
      const env = { HOME: home, KEY: aliceKey };
      let r = { code: 1 as number | null, out: '' };
      for (let i = 0; i < 40 && r.code !== 0; i++) {
        r = await bash(`${curl.replace('curl ', 'curl -sS --fail-with-body ')}`, env, work);
        if (r.code !== 0) await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /"models"/);
      const without = await bash(curl.replace(/ --cert \S+ --key \S+/, '').replace('curl ', 'curl -sS '), env, work);
      assert.notEqual(without.code, 0, `a client without a certificate got in:\n${without.out}`);
    } finally {
      await server.stop();
    }
  });
});

void describe('clients.md', () => {
  void test('ollama-cli: a request signed the way `ollama` signs with OLLAMA_AUTH=1 is accepted for a registered key', async () => {
    assert.equal(mirrored('clients.md', 'ollama-cli').code, 'OLLAMA_HOST=https://localhost:11443 OLLAMA_AUTH=1 SSL_CERT_FILE="$WARDEN_CA" ollama list');
    const dir = join(sandbox, 'ollama-key');
    mkdirSync(dir);
    const gen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ollama', '-f', join(dir, 'id_ed25519')], { encoding: 'utf8' });
    if (gen.error) throw new Error('ssh-keygen is needed: apt-get install -y openssh-client');
    const reg = await runCli(['keys', 'create', '--name', 'ollama-cli', '--ollama-pubkey', join(dir, 'id_ed25519.pub')], { dataDir: w.dataDir });
    assert.equal(reg.code, 0, reg.stderr);
    // `ollama list` = GET /api/tags; the CLI signs "GET,/api/tags?ts=<unix seconds>".
    const blob = readFileSync(join(dir, 'id_ed25519.pub'), 'utf8').split(' ')[1]!;
    const priv = createPrivateKey({ key: sshEd25519Seed(readFileSync(join(dir, 'id_ed25519'), 'utf8')), format: 'der', type: 'pkcs8' });
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      const ts = Math.floor(Date.now() / 1000);
      const sig = sign(null, Buffer.from(`GET,/api/tags?ts=${ts}`), priv).toString('base64');
      const r = await request(`${w.url}/api/tags?ts=${ts}`, { headers: { authorization: `${blob}:${sig}` }, dispatcher: w.dispatcher });
      status = r.statusCode;
      await r.body.text();
      if (status !== 200) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(status, 200);
  });

  const nativeChat = async (): Promise<void> => {
    const r = await request(`${w.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(CHAT), dispatcher: w.dispatcher });
    assert.equal(r.statusCode, 200);
    const body = (await r.body.json()) as { message: { content: string } };
    assert.equal(typeof body.message.content, 'string');
  };

  for (const id of ['ollama-python', 'httpx', 'langchain']) {
    void test(`${id}: Bearer header + verify=ca.pem against /api/chat, as the snippet sends it`, async () => {
      const code = mirrored('clients.md', id).code;
      assert.match(code, /https:\/\/localhost:11443/);
      assert.match(code, /"Authorization": f"Bearer \{os\.environ\['OLLAMA_WARDEN_KEY'\]\}"/);
      assert.match(code, /verify["=:]+\s*os\.path\.expanduser\("~\/\.local\/share\/warden\/tls\/ca\.pem"\)/);
      await nativeChat();
    });
  }

  void test('openai-python: api_key is the Warden key, base_url …/v1; chat completion answers', async () => {
    const code = mirrored('clients.md', 'openai-python').code;
    assert.match(code, /base_url="https:\/\/localhost:11443\/v1"/);
    assert.match(code, /api_key=os\.environ\["OLLAMA_WARDEN_KEY"\]/);
    const r = await request(`${w.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama3.2', messages: CHAT.messages }), dispatcher: w.dispatcher });
    assert.equal(r.statusCode, 200);
    assert.ok(((await r.body.json()) as { choices: unknown[] }).choices.length > 0);
  });

  void test('open-webui: the compose file parses; Open WebUI\'s model list and streamed chat work with its key', async () => {
    const compose = parseYaml(mirrored('clients.md', 'open-webui').code) as { services: { 'open-webui': { environment: Record<string, string> } } };
    const env = compose.services['open-webui'].environment;
    assert.match(env.OPENAI_API_BASE_URL!, /^https:\/\/[^/]+:11443\/v1$/);
    assert.equal(env.SSL_CERT_FILE, '/warden/ca.pem');
    const models = await request(`${w.url}/v1/models`, { headers: { authorization: `Bearer ${key}` }, dispatcher: w.dispatcher });
    assert.equal(models.statusCode, 200);
    assert.ok(((await models.body.json()) as { data: Array<{ id: string }> }).data.some((m) => m.id.startsWith('llama3.2')));
    const chat = await request(`${w.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama3.2', messages: CHAT.messages, stream: true }), dispatcher: w.dispatcher });
    assert.equal(chat.statusCode, 200);
    assert.match(String(chat.headers['content-type']), /text\/event-stream/);
    assert.match(await chat.body.text(), /^data: /m);
  });
});

void describe('security.md', () => {
  const installSh = readFileSync(join(ROOT, 'scripts', 'install.sh'), 'utf8');
  const installPs1 = readFileSync(join(ROOT, 'scripts', 'install.ps1'), 'utf8');
  void test('ollama-systemd: the same lines install.sh prints', () => {
    for (const line of mirrored('security.md', 'ollama-systemd').code.split('\n')) {
      assert.ok(installSh.includes(line.replace(/^ {4}/, '      ').replace(/^sudo/, '  sudo')), `install.sh does not print: ${line}`);
    }
  });
  void test('ollama-macos: the same line install.sh prints', () => {
    assert.ok(installSh.includes(`  ${mirrored('security.md', 'ollama-macos').code}`));
  });
  void test('ollama-windows: the same line install.ps1 prints', () => {
    assert.ok(installPs1.includes(`  ${mirrored('security.md', 'ollama-windows').code}`));
  });
});

void describe('deploy.md', () => {
  void test('upgrade: a non-interactive re-run of install.sh (performed end to end by test/install/install-sh.test.ts)', () => {
    assert.equal(mirrored('deploy.md', 'upgrade').code, 'git pull\nsudo scripts/install.sh --non-interactive');
    const e2e = readFileSync(join(ROOT, 'test', 'install', 'install-sh.test.ts'), 'utf8');
    assert.match(e2e, /a re-run upgrades in place and keeps the CA and the keys/);
    assert.match(e2e, /'--non-interactive'/);
  });

  void test('backup: stop, tar the data dir, start — and the archive restores a working store', async () => {
    const lib = join(sandbox, 'var-lib');
    const data = join(lib, 'warden');
    mkdirSync(data, { recursive: true });
    const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: data });
    assert.equal(init.code, 0, init.stderr);
    const bin = stubs(join(sandbox, 'backup-stubs'), ['systemctl']);
    const code = mirrored('deploy.md', 'backup').code.replaceAll('/var/lib', lib);
    const r = await bash(code, { PATH: `${bin}:${process.env.PATH ?? ''}` }, sandbox);
    assert.equal(r.code, 0, r.out);
    assert.equal(readFileSync(join(bin, 'calls.log'), 'utf8'), 'systemctl stop warden\nsystemctl start warden\n');
    const archive = (await import('node:fs')).readdirSync(sandbox).find((f) => /^warden-backup-\d{4}-\d\d-\d\d\.tar\.gz$/.test(f));
    assert.ok(archive, 'no warden-backup-DATE.tar.gz written');
    const restore = join(sandbox, 'restore');
    mkdirSync(restore);
    assert.equal(spawnSync('tar', ['-C', restore, '-xzf', join(sandbox, archive)]).status, 0);
    assert.ok(existsSync(join(restore, 'warden', 'tls', 'ca.pem')));
    const list = await runCli(['keys', 'list', '--json'], { dataDir: join(restore, 'warden') });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as Array<{ name: string }>).map((k) => k.name), ['admin']);
  });
});

/** The ed25519 private key of an OpenSSH key file, as PKCS#8 DER (what node:crypto takes). */
function sshEd25519Seed(pem: string): Buffer {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  let off = 'openssh-key-v1\0'.length;
  const str = (): Buffer => {
    const len = buf.readUInt32BE(off);
    const s = buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return s;
  };
  str(); // cipher
  str(); // kdf
  str(); // kdf options
  off += 4; // number of keys
  str(); // public key
  const priv = str();
  // private section: check1, check2, keytype, pub, priv(64 = seed + pub), comment
  let p = 8;
  const pstr = (): Buffer => {
    const len = priv.readUInt32BE(p);
    const s = priv.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    return s;
  };
  pstr();
  pstr();
  const seed = pstr().subarray(0, 32);
  return Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
}
