// The `warden` command as a real child process: config validation and precedence, exit codes,
// the --json shapes of docs/design.md §7, plain-HTTP rules, and the audit log reader.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { runCli, startWarden, tempDir, removeDir, waitForKey, type RunningWarden } from '../helpers/warden.ts';

let fake: FakeOllama;
const dirs: string[] = [];
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

before(async () => {
  fake = await startFakeOllama();
});
after(async () => {
  await fake.close();
  for (const d of dirs) removeDir(d);
});

describe('configuration errors', () => {
  const cases: Array<{ name: string; yaml?: string; env?: Record<string, string>; args?: string[]; field: RegExp }> = [
    { name: 'a bad tls.minVersion in warden.yaml', yaml: 'tls:\n  minVersion: "1.1"\n', field: /tls\.minVersion.*"1\.1".*"1\.3" \| "1\.2"/ },
    { name: 'an unknown setting', yaml: 'tls:\n  minVersoin: "1.3"\n', field: /minVersoin/ },
    { name: 'a bad listen from the environment', env: { WARDEN_LISTEN: 'nonsense' }, field: /listen.*"nonsense"/ },
    { name: 'a bad client auth flag', args: ['--client-auth', 'sometimes'], field: /tls\.clientAuth.*"sometimes"/ },
    { name: 'a bad upstream URL', args: ['--upstream', 'ftp://x'], field: /upstream/ },
    { name: 'YAML that does not parse', yaml: 'tls: [\n', field: /not valid YAML/ },
  ];
  for (const c of cases) {
    it(`stops with exit code 2 naming the field: ${c.name}`, async () => {
      const d = dir();
      const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
      assert.equal(init.code, 0, init.stderr);
      if (c.yaml) writeFileSync(join(d, 'warden.yaml'), c.yaml);
      const r = await runCli(['serve', ...(c.args ?? [])], { dataDir: d, env: c.env, timeoutMs: 20_000 });
      assert.equal(r.code, 2, `exit ${r.code}; stderr: ${r.stderr}`);
      assert.match(r.stderr, c.field);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('never prints a secret value in a config error', async () => {
    const d = dir();
    await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    writeFileSync(join(d, 'warden.yaml'), 'store:\n  url: "mysql://user:hunter2@db/x"\n');
    const r = await runCli(['keys', 'list'], { dataDir: d });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /store\.url/);
    assert.doesNotMatch(r.stderr, /hunter2/);
  });

  it('applies flags over environment over the file', async () => {
    const d = dir();
    await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:1'], { dataDir: d });
    // file says port 1 (dead), env says the fake: env wins
    const w = await startWarden({ upstream: fake.url, dataDir: d, env: { WARDEN_UPSTREAM: fake.url } });
    try {
      const key = (JSON.parse((await runCli(['keys', 'create', '--name', 'x', '--json'], { dataDir: d })).stdout) as { key: string }).key;
      await waitForKey(w, key);
      const res = await request(`${w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: w.dispatcher });
      assert.equal(res.statusCode, 200, await res.body.text());
    } finally {
      await w.stop();
    }
  });
});

describe('plain HTTP', () => {
  it('is refused without --insecure-http', async () => {
    const d = dir();
    await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    const r = await runCli(['serve', '--tls-mode', 'off'], { dataDir: d, timeoutMs: 20_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--insecure-http/);
  });

  it('is refused on a non-loopback address without --i-know-this-is-exposed', async () => {
    const d = dir();
    await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    const r = await runCli(['serve', '--insecure-http', '--listen', '0.0.0.0:0'], { dataDir: d, timeoutMs: 20_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /loopback/);
  });

  it('serves on loopback with --insecure-http and still needs a key', async () => {
    const w = await startWarden({ upstream: fake.url, args: ['--insecure-http'] });
    dirs.push(w.dataDir);
    try {
      assert.match(w.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const anon = await request(`${w.url}/api/version`);
      assert.equal(anon.statusCode, 401);
      await anon.body.text();
      const ok = await request(`${w.url}/api/version`, { headers: { authorization: `Bearer ${w.adminKey}` } });
      assert.equal(ok.statusCode, 200);
      await ok.body.text();
    } finally {
      await w.stop();
    }
  });
});

describe('keys --json shapes (docs/design.md §7)', () => {
  let d: string;
  before(async () => {
    d = dir();
    const r = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    assert.equal(r.code, 0);
  });

  it('create returns id, name, key, scopes, models, expiresAt', async () => {
    const r = await runCli(['keys', 'create', '--name', 'ci', '--scope', 'inference', '--model', 'llama3.*', '--model', 'qwen2.5:*', '--expires', '30d', '--rpm', '60', '--json'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    const k = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.match(String(k.id), /^key_[A-Za-z0-9]+$/);
    assert.equal(k.name, 'ci');
    assert.match(String(k.key), /^owk_[A-Za-z0-9]+_[A-Za-z0-9]+$/);
    assert.deepEqual(k.scopes, ['inference']);
    assert.deepEqual(k.models, ['llama3.*', 'qwen2.5:*']);
    const exp = Date.parse(String(k.expiresAt));
    assert.ok(Math.abs(exp - (Date.now() + 30 * 86400_000)) < 120_000);
  });

  it('list returns the keys without secrets, with state, createdAt and lastUsedAt', async () => {
    const r = await runCli(['keys', 'list', '--json'], { dataDir: d });
    assert.equal(r.code, 0);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.ok(list.length >= 2);
    for (const k of list) {
      assert.equal(k.key, undefined);
      assert.ok(['active', 'revoked', 'expired'].includes(String(k.state)));
      assert.ok(!Number.isNaN(Date.parse(String(k.createdAt))));
      assert.ok('lastUsedAt' in k && 'expiresAt' in k && 'scopes' in k && 'models' in k);
      assert.doesNotMatch(JSON.stringify(k), /owk_/);
    }
    assert.ok(list.some((k) => k.name === 'admin' && (k.scopes as string[]).includes('admin')));
  });

  it('rejects bad usage with exit code 2 and names the flag', async () => {
    const bad = await runCli(['keys', 'create', '--name', 'x', '--scope', 'root'], { dataDir: d });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /scope/);
    const dur = await runCli(['keys', 'create', '--name', 'y', '--expires', 'soon'], { dataDir: d });
    assert.equal(dur.code, 2);
    assert.match(dur.stderr, /--expires/);
    // Past the store's 32-bit column: a usage error naming the flag, not a failed write.
    const huge = await runCli(['keys', 'create', '--name', 'z', '--tpm', '9007199254740992'], { dataDir: d });
    assert.equal(huge.code, 2, huge.stderr);
    assert.match(huge.stderr, /tpm/);
    const missing = await runCli(['keys', 'revoke', 'key_doesnotexist'], { dataDir: d });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found/);
  });

  it('create and update take --max-ctx, --max-predict, --max-keep-alive (off removes one); --json has caps in seconds', async () => {
    const created = await runCli(['keys', 'create', '--name', 'capped', '--max-ctx', '4096', '--max-predict', '512', '--max-keep-alive', '30m', '--json'], { dataDir: d });
    assert.equal(created.code, 0, created.stderr);
    const k = JSON.parse(created.stdout) as { id: string; caps: unknown };
    assert.deepEqual(k.caps, { numCtx: 4096, numPredict: 512, keepAlive: 1800 });

    const seconds = await runCli(['keys', 'update', k.id, '--max-keep-alive', '90', '--json'], { dataDir: d });
    assert.equal(seconds.code, 0, seconds.stderr);
    assert.deepEqual((JSON.parse(seconds.stdout) as { caps: unknown }).caps, { numCtx: 4096, numPredict: 512, keepAlive: 90 }, 'flags not given keep their value');

    const off = await runCli(['keys', 'update', k.id, '--max-ctx', 'off', '--max-keep-alive', '1h', '--json'], { dataDir: d });
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual((JSON.parse(off.stdout) as { caps: unknown }).caps, { numCtx: null, numPredict: 512, keepAlive: 3600 });

    const show = await runCli(['keys', 'show', k.id], { dataDir: d });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /caps:\s+num_ctx -, num_predict 512, keep_alive 1h/);
    const list = await runCli(['keys', 'list'], { dataDir: d });
    assert.match(list.stdout, /CAPS/);
    assert.match(list.stdout, /capped .*predict=512,keep=1h/);
    const listJson = JSON.parse((await runCli(['keys', 'list', '--json'], { dataDir: d })).stdout) as Array<{ name: string; caps: unknown }>;
    assert.deepEqual(listJson.find((x) => x.name === 'admin')?.caps, { numCtx: null, numPredict: null, keepAlive: null }, 'null when unset');
    assert.deepEqual(listJson.find((x) => x.name === 'capped')?.caps, { numCtx: null, numPredict: 512, keepAlive: 3600 });
  });

  it('refuses bad caps with exit code 2 naming the flag, and changes nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--max-ctx', '0'], /--max-ctx/],
      [['--max-ctx', 'big'], /--max-ctx/],
      [['--max-predict', '-1'], /--max-predict/],
      [['--max-predict', '3000000000'], /max-predict: .*2147483647/],
      [['--max-keep-alive', 'forever'], /--max-keep-alive/],
      [['--max-keep-alive', '0m'], /max-keep-alive: /],
    ];
    for (const [flags, want] of cases) {
      const r = await runCli(['keys', 'create', '--name', 'bad-caps', ...flags], { dataDir: d });
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    const list = JSON.parse((await runCli(['keys', 'list', '--json'], { dataDir: d })).stdout) as Array<{ name: string }>;
    assert.ok(!list.some((k) => k.name === 'bad-caps'));
  });

  it('delete removes the key and the action is in the audit log', async () => {
    const r = await runCli(['keys', 'create', '--name', 'temp', '--json'], { dataDir: d });
    const k = JSON.parse(r.stdout) as { id: string };
    assert.equal((await runCli(['keys', 'delete', k.id], { dataDir: d })).code, 0);
    const show = await runCli(['keys', 'show', k.id], { dataDir: d });
    assert.equal(show.code, 1);
    const audit = await runCli(['audit', '--json'], { dataDir: d });
    const events = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; keyId: string });
    assert.ok(events.some((e) => e.kind === 'key.create' && e.keyId === k.id));
    assert.ok(events.some((e) => e.kind === 'key.delete' && e.keyId === k.id));
    assert.doesNotMatch(audit.stdout, /owk_/);
  });
});

describe('serve', () => {
  it('initialises an empty data dir, prints the admin key once, and stops cleanly on SIGTERM', async () => {
    const d = dir();
    const w = await startWarden({ upstream: fake.url, dataDir: d, skipInit: true, args: ['--listen', '127.0.0.1:0', '--upstream', fake.url] });
    try {
      // One format off a terminal: every line is a JSON log record, the first
      // start's summary (admin key, CA fingerprint, snippets) and "listening on" included.
      const records = w.output().split('\n').filter(Boolean).map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; level?: number };
        } catch {
          assert.fail(`a line that is not a JSON log record: ${l}`);
        }
      });
      const first = records.find((r) => r.msg?.startsWith('first start: '));
      assert.match(first?.msg ?? '', /owk_[A-Za-z0-9_]+/, 'the first key is printed');
      assert.match(first?.msg ?? '', /fingerprint/i);
      assert.equal(records.filter((r) => /^listening on https:\/\/127\.0\.0\.1:\d+$/.test(r.msg ?? '')).length, 1, 'one "listening on https://HOST:PORT" record');
      assert.ok(existsSync(join(d, 'warden.db')));
    } finally {
      assert.equal(await w.stop('SIGTERM'), 0);
    }
    assert.ok(!existsSync(join(d, 'run', 'admin-token')), 'the per-run admin token is removed on shutdown');
    const again = await startWarden({ upstream: fake.url, dataDir: d, args: ['--listen', '127.0.0.1:0'] });
    try {
      assert.doesNotMatch(again.output(), /owk_/, 'a second start must not print a key');
    } finally {
      await again.stop('SIGINT');
    }
  });

  // The young-generation cap (src/cli/main.ts): Linux shows the re-exec'd command line in /proc.
  it('runs with the young generation capped, unless the operator chose a size', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    const cmdline = (pid: number | undefined): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const capped = await startWarden({ upstream: fake.url });
    dirs.push(capped.dataDir);
    try {
      assert.ok(cmdline(capped.proc.pid).includes('--max-semi-space-size=4'), cmdline(capped.proc.pid).join(' '));
      const ok = await request(`${capped.url}/api/tags`, { headers: { authorization: `Bearer ${capped.adminKey}` }, dispatcher: capped.dispatcher });
      assert.equal(ok.statusCode, 200, 'the re-exec keeps the listener, stdio and data dir');
      await ok.body.text();
    } finally {
      assert.equal(await capped.stop('SIGTERM'), 0);
    }
    const chosen = await startWarden({ upstream: fake.url, env: { NODE_OPTIONS: '--max-semi-space-size=16' } });
    dirs.push(chosen.dataDir);
    try {
      assert.ok(!cmdline(chosen.proc.pid).some((a) => a.startsWith('--max-semi-space-size')), 'no second flag over the operator\'s');
    } finally {
      await chosen.stop();
    }
  });

  it('records every request in the audit log, readable with warden audit', async () => {
    const w: RunningWarden = await startWarden({ upstream: fake.url });
    dirs.push(w.dataDir);
    try {
      const ok = await request(`${w.url}/api/tags`, { headers: { authorization: `Bearer ${w.adminKey}` }, dispatcher: w.dispatcher });
      await ok.body.text();
      const denied = await request(`${w.url}/api/tags`, { dispatcher: w.dispatcher });
      await denied.body.text();
    } finally {
      await w.stop();
    }
    const all = await runCli(['audit', '--json'], { dataDir: w.dataDir });
    const events = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const req = events.filter((e) => e.kind === 'request' && e.path === '/api/tags');
    assert.equal(req.length, 2);
    const okEv = req.find((e) => e.status === 200)!;
    assert.equal(okEv.keyName, 'admin');
    assert.equal(okEv.authMethod, 'bearer');
    assert.equal(okEv.tlsVersion, 'TLSv1.3');
    assert.ok(typeof okEv.durationMs === 'number');
    const deniedEv = req.find((e) => e.status === 401)!;
    assert.equal(deniedEv.keyId, null);
    assert.ok(deniedEv.reason);
    const only4xx = await runCli(['audit', '--json', '--status', '4xx'], { dataDir: w.dataDir });
    assert.ok(only4xx.stdout.trim().split('\n').every((l) => (JSON.parse(l) as { status: number }).status >= 400));
    const text = readFileSync(join(w.dataDir, 'audit', 'audit.log'), 'utf8');
    assert.doesNotMatch(text, /owk_/);
  });
});
