// Mutual TLS end to end: client certificates issued and revoked with the CLI while `warden
// serve` runs with tls.clientAuth; keys bound to a certificate (two factors).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, runCli, removeDir, tempDir, type RunningWarden } from '../helpers/warden.ts';

let fake: FakeOllama;
const dirs: string[] = [];

interface Issued {
  certPath: string;
  keyPath: string;
  serial: string;
}

async function issue(dataDir: string, name: string): Promise<Issued> {
  const r = await runCli(['cert', 'client', 'issue', name, '--json'], { dataDir });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Issued;
}

function agentWith(w: RunningWarden, cert: Issued | null): Agent {
  return new Agent({ connect: { ca: w.caPem, ...(cert ? { cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) } : {}) } });
}

async function get(w: RunningWarden, agent: Agent, key: string | null): Promise<number> {
  try {
    const res = await request(`${w.url}/api/version`, { headers: key ? { authorization: `Bearer ${key}` } : {}, dispatcher: agent });
    await res.body.text();
    return res.statusCode;
  } catch {
    return -1; // handshake refused or connection closed
  }
}

async function eventually(ms: number, fn: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not within ${ms} ms`);
}

before(async () => {
  fake = await startFakeOllama();
});
after(async () => {
  await fake.close();
  dirs.forEach(removeDir);
});

describe('tls.clientAuth: require', () => {
  let w: RunningWarden;
  let alice: Issued;
  let bob: Issued;

  before(async () => {
    const d = tempDir();
    dirs.push(d);
    const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    assert.equal(init.code, 0);
    alice = await issue(d, 'alice');
    bob = await issue(d, 'bob');
    w = await startWarden({ upstream: fake.url, dataDir: d, args: ['--client-auth', 'require'] });
    w.adminKey = /owk_[A-Za-z0-9_]+/.exec(init.stdout)![0];
  });
  after(async () => w?.stop());

  it('refuses a connection without a client certificate, and the audit log says why', async () => {
    const before = fake.requests.length;
    assert.notEqual(await get(w, agentWith(w, null), w.adminKey), 200);
    assert.equal(fake.requests.length, before);
    await new Promise((r) => setTimeout(r, 500));
    const audit = await runCli(['audit', '--json'], { dataDir: w.dataDir });
    assert.match(audit.stdout, /client certificate required/);
  });

  it('serves a request with a valid certificate and a key', async () => {
    assert.equal(await get(w, agentWith(w, alice), w.adminKey), 200);
  });

  it('cuts a revoked certificate within 1 s, also on a connection opened before the revocation', async () => {
    const agent = agentWith(w, bob);
    assert.equal(await get(w, agent, w.adminKey), 200); // keep-alive connection now open
    const rev = await runCli(['cert', 'client', 'revoke', 'bob'], { dataDir: w.dataDir });
    assert.equal(rev.code, 0, rev.stderr);
    const took = await eventually(3000, async () => (await get(w, agent, w.adminKey)) !== 200);
    assert.ok(took <= 1500, `revoked certificate still served after ${took} ms`);
    assert.notEqual(await get(w, agentWith(w, bob), w.adminKey), 200, 'a new connection with the revoked certificate is refused');
    assert.equal(await get(w, agentWith(w, alice), w.adminKey), 200, 'other certificates keep working');
    await new Promise((r) => setTimeout(r, 500));
    const audit = await runCli(['audit', '--json'], { dataDir: w.dataDir });
    assert.match(audit.stdout, /revoked/);
  });

  it('does not let TLS session resumption bring a revoked certificate back', async () => {
    // Resume a session that was established with a (now revoked) certificate.
    const first = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: w.port, ca: w.caPem, servername: 'localhost', cert: readFileSync(alice.certPath), key: readFileSync(alice.keyPath) }, () => resolve(s));
      s.on('error', reject);
    });
    const session = await new Promise<Buffer | undefined>((resolve) => {
      first.once('session', (s: Buffer) => resolve(s));
      first.write(`GET /api/version HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${w.adminKey}\r\n\r\n`);
      setTimeout(() => resolve(first.getSession()), 1000);
    });
    first.destroy();
    await runCli(['cert', 'client', 'revoke', 'alice'], { dataDir: w.dataDir });
    await new Promise((r) => setTimeout(r, 1200));
    const reply = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: w.port, ca: w.caPem, servername: 'localhost', session }, () => {
        s.write(`GET /api/version HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${w.adminKey}\r\nConnection: close\r\n\r\n`);
      });
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    assert.doesNotMatch(reply, /^HTTP\/1\.1 200/, 'a resumed session with a revoked certificate was served');
  });
});

describe('keys bound to a client certificate (two factors)', () => {
  let w: RunningWarden;
  let carol: Issued;
  let dave: Issued;
  let bound: { key: string };

  before(async () => {
    const d = tempDir();
    dirs.push(d);
    await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir: d });
    carol = await issue(d, 'carol');
    dave = await issue(d, 'dave');
    const r = await runCli(['keys', 'create', '--name', 'carol-laptop', '--bind-cert', 'carol', '--json'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    bound = JSON.parse(r.stdout) as { key: string };
    w = await startWarden({ upstream: fake.url, dataDir: d, args: ['--client-auth', 'optional'] });
  });
  after(async () => w?.stop());

  it('accepts the key only over a connection presenting that certificate', async () => {
    assert.equal(await get(w, agentWith(w, carol), bound.key), 200);
    assert.equal(await get(w, agentWith(w, null), bound.key), 401, 'stolen key without the certificate');
    assert.equal(await get(w, agentWith(w, dave), bound.key), 401, 'stolen key with another certificate');
  });

  it('with clientAuth optional, a request without a certificate still needs a key', async () => {
    assert.equal(await get(w, agentWith(w, null), null), 401);
  });
});
