// Mutual TLS: client certificates issued by `cert client issue`, checked per request by
// checkClientCert over real handshakes — including a revocation that must reach a keep-alive
// connection opened before it, and certificates that are expired, foreign or for the wrong purpose.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createTlsManager, type TlsManager } from '../../src/tls/manager.ts';
import { issueClientCert, listClientCerts, revokeClientCert, type IssuedClientCert } from '../../src/tls/client-certs.ts';
import { ensureLocalCa, type LocalCa } from '../../src/tls/local-ca.ts';
import { ClientCertVerifier } from '../../src/tls/client-verify.ts';
import { crlPath } from '../../src/tls/crl.ts';
import { join } from 'node:path';
import { tlsDir as tlsDirOf } from '../../src/config/paths.ts';
import { closeServer, listen, makeCert, memoryClientCerts, memoryLog, tempDir, tlsConfig, waitFor } from './helpers.ts';
import type { Server } from 'node:https';

const data = tempDir();
const foreign = tempDir('warden-foreign-');
const tlsDir = tlsDirOf(data.dir);
const store = memoryClientCerts();
let mgr: TlsManager;
let server: Server;
let port: number;
let ca: LocalCa;
let alice: IssuedClientCert;
const socketIds = new WeakMap<object, number>();
let nextId = 1;

before(async () => {
  mgr = await createTlsManager({ config: tlsConfig({ clientAuth: 'require' }), dataDir: data.dir, clientCerts: store, log: memoryLog().log, pollMs: 200 });
  ca = await ensureLocalCa(tlsDir);
  // Echoes the manager's verdict for the connection; which HTTP status the gateway gives each
  // verdict is tested end to end (test/e2e/mtls.test.ts), not here.
  ({ server, port } = await listen(mgr.serverOptions(), (req, res) => {
    const sock = req.socket as TLSSocket;
    if (!socketIds.has(sock)) socketIds.set(sock, nextId++);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...mgr.checkClientCert(sock), socket: socketIds.get(sock) }));
  }));
  alice = await issueClientCert({ tlsDir, name: 'alice', days: 30, store, outDir: join(data.dir, 'out') });
});
after(async () => {
  await closeServer(server);
  await mgr.close();
  data.cleanup();
  foreign.cleanup();
});

function call(opts: { cert?: string; key?: string; agent?: Agent }): Promise<{ body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', ca: ca.certPem, ...opts }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('mutual TLS', () => {
  void test('cert client issue writes a clientAuth certificate, a 0600 key and a PKCS#12 bundle that openssl opens with the printed password', () => {
    const cert = new X509Certificate(readFileSync(alice.certPath!));
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
    assert.equal(alice.record.fingerprint, cert.fingerprint256.replace(/:/g, '').toLowerCase());
    assert.equal(alice.record.name, 'alice');
    assert.match(alice.p12Password, /^[0-9A-Za-z]{24}$/);
    if (process.platform !== 'win32') {
      assert.equal(statSync(alice.keyPath!).mode & 0o777, 0o600);
      assert.equal(statSync(alice.p12Path!).mode & 0o777, 0o600);
    }
    const info = execFileSync('openssl', ['pkcs12', '-info', '-noout', '-passin', `pass:${alice.p12Password}`, '-in', alice.p12Path!], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.doesNotThrow(() => info);
    const pem = execFileSync('openssl', ['pkcs12', '-nodes', '-passin', `pass:${alice.p12Password}`, '-in', alice.p12Path!], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal((pem.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'leaf + CA');
    assert.match(pem, new RegExp(`BEGIN ${'PRIVATE'} KEY`));
    assert.throws(() => execFileSync('openssl', ['pkcs12', '-info', '-noout', '-passin', 'pass:wrong', '-in', alice.p12Path!], { stdio: 'ignore' }), 'a wrong password must fail the MAC');
  });

  void test('a second active certificate with the same name is refused; bad names and --days are usage errors', async () => {
    await assert.rejects(issueClientCert({ tlsDir, name: 'alice', store }), /already active/);
    await assert.rejects(issueClientCert({ tlsDir, name: '../etc/passwd', store }), /not allowed/);
    await assert.rejects(issueClientCert({ tlsDir, name: 'bob', days: 0, store }), /--days/);
  });

  void test('the issued certificate is accepted; no certificate is "none"', async () => {
    const ok = await call({ cert: readFileSync(alice.certPath!, 'utf8'), key: readFileSync(alice.keyPath!, 'utf8') });
    assert.equal(ok.body.state, 'ok', JSON.stringify(ok.body));
    assert.equal(ok.body.subject, 'CN=alice, O=Ollama Warden client');
    assert.equal(ok.body.serial, alice.record.serial);
    assert.equal(ok.body.fingerprint, alice.record.fingerprint);
    const none = await call({});
    assert.equal(none.body.state, 'none');
  });

  const refusals: Array<{ name: string; make: () => Promise<{ certPem: string; keyPem: string }>; reason: string }> = [
    { name: 'a certificate from an unknown CA', make: async () => makeCert(await ensureLocalCa(foreign.dir), { cn: 'mallory', purpose: 'clientAuth' }), reason: 'unknown CA' },
    { name: 'an expired certificate', make: () => makeCert(ca, { cn: 'old', purpose: 'clientAuth', notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) }), reason: 'expired' },
    { name: 'a certificate not yet valid', make: () => makeCert(ca, { cn: 'future', purpose: 'clientAuth', notBefore: new Date(Date.now() + 86_400_000), notAfter: new Date(Date.now() + 10 * 86_400_000) }), reason: 'not yet valid' },
    { name: 'a server certificate used as a client certificate (wrong purpose)', make: () => makeCert(ca, { cn: 'server', purpose: 'serverAuth' }), reason: 'wrong purpose' },
  ];
  for (const r of refusals) {
    void test(`refuses ${r.name} with reason "${r.reason}"`, async () => {
      const c = await r.make();
      const res = await call({ cert: c.certPem, key: c.keyPem });
      assert.equal(res.body.state, 'refused');
      assert.equal(res.body.reason, r.reason);
    });
  }

  void test('an expired certificate is refused on a connection made while it was valid (the clock is checked per request)', () => {
    const v = new ClientCertVerifier(ca.certPem);
    const cert = new X509Certificate(readFileSync(alice.certPath!));
    assert.equal(v.checkCertificate(cert).state, 'ok');
    const later = new Date(new Date(cert.validTo).getTime() + 1000);
    assert.deepEqual(v.checkCertificate(cert, later), { state: 'refused', reason: 'expired', subject: 'CN=alice, O=Ollama Warden client' });
  });

  void test('cert client revoke reaches a keep-alive connection opened before it, within 1 s, and lists the serial on a CRL openssl verifies', async () => {
    const carol = await issueClientCert({ tlsDir, name: 'carol', store, outDir: join(data.dir, 'out') });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, cert: readFileSync(carol.certPath!, 'utf8'), key: readFileSync(carol.keyPath!, 'utf8'), ca: ca.certPem });
    try {
      const before = await call({ agent });
      assert.equal(before.body.state, 'ok');
      await revokeClientCert({ store, nameOrSerial: 'carol', tlsDir });
      const t0 = Date.now();
      let last = before;
      const refused = await waitFor(async () => {
        last = await call({ agent });
        return last.body.state === 'refused';
      }, 1000, 100);
      assert.ok(refused, `still accepted ${Date.now() - t0} ms after revocation: ${JSON.stringify(last.body)}`);
      assert.equal(last.body.reason, 'revoked');
      assert.equal(last.body.socket, before.body.socket, 'must be the same keep-alive connection');
    } finally {
      agent.destroy();
    }
    const crlText = execFileSync('openssl', ['crl', '-in', crlPath(tlsDir), '-CAfile', ca.certPath, '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(crlText.replace(/:/g, '').toLowerCase(), new RegExp(`serial number ${carol.record.serial}`));
    assert.match(crlText, /Next Update:/);
    const listed = await listClientCerts(store);
    assert.deepEqual(listed.map((c) => [c.name, c.state]).sort(), [['alice', 'active'], ['carol', 'revoked']]);
    assert.ok(mgr.status().crl && mgr.status().crl!.revoked >= 1);
  });

  void test('refreshRevocations enforces a revocation made only in the store (another instance) and re-signs the CRL', async () => {
    const dave = await issueClientCert({ tlsDir, name: 'dave', store, outDir: join(data.dir, 'out') });
    const creds = { cert: readFileSync(dave.certPath!, 'utf8'), key: readFileSync(dave.keyPath!, 'utf8') };
    assert.equal((await call(creds)).body.state, 'ok');
    await store.revoke(dave.record.serial, 'test');
    await mgr.refreshRevocations();
    const res = await call(creds);
    assert.deepEqual([res.body.state, res.body.reason], ['refused', 'revoked']);
    const crlText = execFileSync('openssl', ['crl', '-in', crlPath(tlsDir), '-noout', '-text'], { encoding: 'utf8' });
    assert.match(crlText.replace(/:/g, '').toLowerCase(), new RegExp(dave.record.serial));
  });

  void test('revoking an unknown name is a clear not-found error', async () => {
    await assert.rejects(revokeClientCert({ store, nameOrSerial: 'nobody', tlsDir }), /no client certificate named or with serial "nobody"/);
  });
});

void describe('mutual TLS, optional', () => {
  void test('a request without a certificate is "none" (it then needs an API key); one with a certificate is checked', async () => {
    const d = tempDir();
    const s = memoryClientCerts();
    const m = await createTlsManager({ config: tlsConfig({ clientAuth: 'optional' }), dataDir: d.dir, clientCerts: s, log: () => {} });
    const { server: srv, port: p } = await listen(m.serverOptions(), (req, res) => res.end(JSON.stringify(m.checkClientCert(req.socket as TLSSocket))));
    try {
      const c = await issueClientCert({ tlsDir: tlsDirOf(d.dir), name: 'erin', store: s, outDir: join(d.dir, 'out') });
      const caPem = readFileSync(`${tlsDirOf(d.dir)}/ca.pem`, 'utf8');
      const get = (extra: object): Promise<string> =>
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: p, ca: caPem, ...extra }, (res) => {
            let t = '';
            res.on('data', (x: Buffer) => (t += x.toString()));
            res.on('end', () => resolve(t));
          });
          req.on('error', reject);
          req.end();
        });
      assert.deepEqual(JSON.parse(await get({})), { state: 'none' });
      assert.equal((JSON.parse(await get({ cert: readFileSync(c.certPath!), key: readFileSync(c.keyPath!) })) as { state: string }).state, 'ok');
    } finally {
      await closeServer(srv);
      await m.close();
      d.cleanup();
    }
  });
});
