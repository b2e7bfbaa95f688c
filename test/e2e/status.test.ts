// `warden status --json`, `warden cert status`, `warden doctor` and /_warden/metrics against
// a running server and with the server stopped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { withWarden, runCli, removeDir, waitForKey } from '../helpers/warden.ts';

const stack = withWarden({ ollama: { version: '0.12.3' } });

type Status = {
  source: string;
  listen: string;
  tls: { enabled: boolean; minVersion: string; clientAuth: string; certificate: { subject: string; issuer: string; notAfter: string; fingerprint256: string } };
  upstream: { url: string; reachable: boolean; version: string | null };
  keys: { active: number; revoked: number };
};

describe('warden status --json', () => {
  it('asks the running server and reports TLS, certificate, upstream and keys', async () => {
    const r = await runCli(['status', '--json'], { dataDir: stack.w.dataDir });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Status;
    assert.equal(s.source, 'server');
    assert.equal(s.tls.enabled, true);
    assert.equal(s.tls.minVersion, '1.3');
    assert.equal(s.tls.clientAuth, 'off');
    const served = new X509Certificate(readFileSync(join(stack.w.dataDir, 'tls', 'server.pem')));
    assert.equal(s.tls.certificate.fingerprint256, served.fingerprint256);
    assert.equal(new Date(s.tls.certificate.notAfter).getTime(), new Date(served.validTo).getTime());
    assert.match(s.tls.certificate.issuer, /Warden/i);
    assert.equal(s.upstream.url, stack.fake.url);
    assert.equal(s.upstream.reachable, true);
    assert.equal(s.upstream.version, '0.12.3');
    assert.equal(s.keys.active, 1);
    assert.equal(s.keys.revoked, 0);
    assert.equal(typeof s.listen, 'string');
  });

  it('falls back to config and store when the server is not running, and says so', async () => {
    const d = (await import('../helpers/warden.ts')).tempDir();
    try {
      const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], { dataDir: d });
      assert.equal(init.code, 0);
      const r = await runCli(['status', '--json'], { dataDir: d });
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as Status;
      assert.equal(s.source, 'offline');
      assert.equal(s.upstream.reachable, false);
      assert.equal(s.keys.active, 1);
      assert.match(s.tls.certificate.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      const human = await runCli(['status'], { dataDir: d });
      assert.match(human.stdout, /server not running/);
      assert.match(human.stdout, /UNREACHABLE/);
    } finally {
      removeDir(d);
    }
  });
});

describe('warden status when the server is running but silent', () => {
  it('says "no answer in 3 s" for a server that accepts and never answers, not "server not running"', async () => {
    const d = (await import('../helpers/warden.ts')).tempDir();
    // A stuck server: the port accepts connections and never says a word.
    const sockets: Socket[] = [];
    const stuck = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', r));
    try {
      const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], { dataDir: d });
      assert.equal(init.code, 0, init.stderr);
      const port = (stuck.address() as AddressInfo).port;
      // What a running `warden serve` leaves behind; this test's own pid stands for a live server.
      mkdirSync(join(d, 'run'), { recursive: true });
      writeFileSync(join(d, 'run', 'server.json'), JSON.stringify({ pid: process.pid, url: `https://127.0.0.1:${port}`, port }));
      writeFileSync(join(d, 'run', 'admin-token'), 'token', { mode: 0o600 });
      const started = Date.now();
      const human = await runCli(['status'], { dataDir: d });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, new RegExp(`server pid ${process.pid} is running but gave no answer: no answer in 3 s`));
      assert.doesNotMatch(human.stdout, /server not running/);
      assert.ok(Date.now() - started >= 3000, 'it waited the 3 s');
      const json = JSON.parse((await runCli(['status', '--json'], { dataDir: d })).stdout) as { source: string; serverNote?: string };
      assert.equal(json.source, 'offline');
      assert.match(json.serverNote ?? '', /no answer in 3 s/);
      const cert = await runCli(['cert', 'status'], { dataDir: d });
      assert.match(cert.stdout, /no answer in 3 s/);
    } finally {
      for (const s of sockets) s.destroy();
      stuck.close();
      removeDir(d);
    }
  });
});

describe('metrics', () => {
  it('serves Prometheus metrics to an admin or metrics key, and 403 to others', async () => {
    const get = async (key: string | null): Promise<{ status: number; text: string }> => {
      const res = await request(`${stack.w.url}/_warden/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {}, dispatcher: stack.w.dispatcher });
      return { status: res.statusCode, text: await res.body.text() };
    };
    const admin = await get(stack.w.adminKey);
    assert.equal(admin.status, 200);
    assert.match(admin.text, /warden_requests_total/);
    assert.match(admin.text, /warden_keys\{state="active"\}/);
    const m = JSON.parse((await runCli(['keys', 'create', '--name', 'prom', '--scope', 'metrics', '--json'], { dataDir: stack.w.dataDir })).stdout) as { key: string };
    const chat = JSON.parse((await runCli(['keys', 'create', '--name', 'chat', '--json'], { dataDir: stack.w.dataDir })).stdout) as { key: string };
    await waitForKey(stack.w, chat.key);
    assert.equal((await get(m.key)).status, 200);
    assert.equal((await get(chat.key)).status, 403);
    assert.equal((await get(null)).status, 401);
  });
});

describe('doctor', () => {
  it('checks the upstream, permissions and clock, and exits 0 when nothing fails', async () => {
    const r = await runCli(['doctor', '--json'], { dataDir: stack.w.dataDir });
    const checks = JSON.parse(r.stdout) as Array<{ name: string; level: string }>;
    assert.ok(checks.some((c) => c.name === 'ollama reachable' && c.level === 'ok'));
    assert.ok(checks.some((c) => c.name === 'file permissions' && c.level === 'ok'));
    assert.ok(checks.some((c) => c.name === 'clock' && c.level === 'ok'));
    assert.equal(r.code, checks.some((c) => c.level === 'fail') ? 1 : 0);
    assert.ok(!checks.some((c) => /policy\.registries/.test(JSON.stringify(c))), 'the default registries raise no warning');
  });

  it('warns when policy.registries allows any host', async () => {
    const r = await runCli(['doctor', '--json'], { dataDir: stack.w.dataDir, env: { WARDEN_POLICY_REGISTRIES: 'registry.ollama.ai,*' } });
    const checks = JSON.parse(r.stdout) as Array<{ name: string; level: string; detail: string }>;
    assert.ok(checks.some((c) => c.level === 'warn' && /policy\.registries allows any host/.test(c.detail)), r.stdout);
  });
});

describe('reload', () => {
  it('asks the running server to re-read keys and revocations (no signal needed, so it works on Windows)', async () => {
    const r = await runCli(['reload'], { dataDir: stack.w.dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reloaded: keys/);
  });

  it('fails clearly when no server runs for the data dir', async () => {
    const d = (await import('../helpers/warden.ts')).tempDir();
    try {
      await runCli(['init', '--yes', '--listen', '127.0.0.1:0'], { dataDir: d });
      const r = await runCli(['reload'], { dataDir: d });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no running server/);
    } finally {
      removeDir(d);
    }
  });
});

describe('settings through the admin API', () => {
  it('applies the audit switch at once, marks TLS changes "restart needed", and refuses bad values by field', async () => {
    const patch = async (body: unknown): Promise<{ status: number; json: { restartNeeded?: string[]; error?: string } }> => {
      const res = await request(`${stack.w.url}/_warden/api/settings`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: stack.w.dispatcher,
      });
      return { status: res.statusCode, json: (await res.body.json()) as { restartNeeded?: string[]; error?: string } };
    };
    const auditPaths = (): string[] =>
      readFileSync(join(stack.w.dataDir, 'audit', 'audit.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { path: string }).path);
    const hit = async (path: string): Promise<void> => {
      const res = await request(`${stack.w.url}${path}`, { headers: { authorization: `Bearer ${stack.w.adminKey}` }, dispatcher: stack.w.dispatcher });
      await res.body.text();
    };
    const off = await patch({ audit: { enabled: false } });
    assert.equal(off.status, 200, JSON.stringify(off.json));
    assert.deepEqual(off.json.restartNeeded, []);
    const before = auditPaths().length;
    await hit('/api/ps'); // while the audit is off
    const on = await patch({ audit: { enabled: true }, tls: { minVersion: '1.2' } });
    assert.deepEqual(on.json.restartNeeded, ['tls.minVersion']);
    await hit('/api/tags'); // after it is back on
    const deadline = Date.now() + 5000;
    while (!auditPaths().slice(before).includes('/api/tags') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const since = auditPaths().slice(before);
    assert.ok(since.includes('/api/tags'), 'the audit log did not resume');
    assert.ok(!since.includes('/api/ps'), 'the audit log was still written after it was switched off');
    const bad = await patch({ tls: { minVersion: '1.1' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /tls\.minVersion/);
    assert.match(readFileSync(join(stack.w.dataDir, 'warden.yaml'), 'utf8'), /minVersion: "?1\.2"?/);
  });
});
