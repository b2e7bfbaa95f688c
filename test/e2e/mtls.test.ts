// Mutual TLS end to end: client certificates issued and revoked with the CLI while `warden
// serve` runs with tls.clientAuth; keys bound to a certificate (two factors).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, runCli, removeDir, tempDir, type RunningWarden } from '../helpers/warden.ts';
import { waitForAudit } from '../security/helpers.ts';

let fake: FakeOllama;
const dirs: string[] = [];

interface Issued {
  certPath: string;
  keyPath: string;
  serial: string;
}

async function issue(dataDir: string, name: string): Promise<Issued> {
  const r = await runCli(['cert', 'client', 'issue', name, '--json', '--out', join(dataDir, 'issued')], { dataDir });
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

interface Exchange {
  reply: string;
  /** the server accepted the offered session (an abbreviated handshake) */
  reused: boolean;
  /** a session (TLS 1.3: a ticket) the server handed out, to offer on a later connection */
  session: Buffer | undefined;
}

/** One raw request on a fresh TLS connection, recording what resumption did. */
function exchange(port: number, opts: ConnectionOptions, key: string): Promise<Exchange> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let reused = false;
    let reply = '';
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      reused = s.isSessionReused();
      s.write(`GET /api/version HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`);
    });
    s.on('session', (b: Buffer) => (session = b));
    s.on('data', (d: Buffer) => (reply += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ reply, reused, session }));
    s.setTimeout(10_000, () => s.destroy());
  });
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
    await waitForAudit(w, (l) => (l.reason ?? '').includes('client certificate required'));
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
    await waitForAudit(w, (l) => /revoked/.test(l.reason ?? ''));
  });

  it('does not let TLS session resumption bring a revoked certificate back', async () => {
    const withAlice: ConnectionOptions = { ca: w.caPem, cert: readFileSync(alice.certPath), key: readFileSync(alice.keyPath) };

    // Control: the same client procedure against a TLS server that does issue tickets gets one
    // and resumes with it, so the procedure below really attempts a resumption.
    const control = createTlsServer(
      { cert: readFileSync(join(w.dataDir, 'tls', 'server.pem')), key: readFileSync(join(w.dataDir, 'tls', 'server-key.pem')), requestCert: true, rejectUnauthorized: false },
      (sock) => sock.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'),
    );
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    try {
      const port = (control.address() as AddressInfo).port;
      const first = await exchange(port, withAlice, w.adminKey);
      assert.ok(first.session, 'control: a ticket-issuing server hands out a session');
      const resumed = await exchange(port, { ca: w.caPem, session: first.session }, w.adminKey);
      assert.equal(resumed.reused, true, 'control: offering that session resumes it');
    } finally {
      control.close();
    }

    // Warden hands out TLS 1.3 session state too (stateful tickets), but never resumes it:
    // offered on a new connection before the revocation, the handshake is a full one…
    const first = await exchange(w.port, withAlice, w.adminKey);
    assert.match(first.reply, /^HTTP\/1\.1 200/);
    assert.ok(first.session, 'the client kept a session to offer');
    const before = await exchange(w.port, { ...withAlice, session: first.session }, w.adminKey);
    assert.equal(before.reused, false, 'Warden resumed a TLS session');
    // …and after it, the session offered without the certificate neither resumes nor is served.
    const rev = await runCli(['cert', 'client', 'revoke', 'alice'], { dataDir: w.dataDir });
    assert.equal(rev.code, 0, rev.stderr);
    await eventually(3000, async () => (await get(w, agentWith(w, alice), w.adminKey)) !== 200);
    const after = await exchange(w.port, { ca: w.caPem, session: first.session }, w.adminKey);
    assert.equal(after.reused, false, 'Warden resumed a session established with a now revoked certificate');
    assert.doesNotMatch(after.reply, /^HTTP\/1\.1 200/, 'a resumed session with a revoked certificate was served');
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
