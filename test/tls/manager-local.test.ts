// The manager in mode "local": a real HTTPS listener built from serverOptions(), the local CA
// trusted by the client, and the server certificate renewed and hot-swapped while it runs.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createTlsManager } from '../../src/tls/manager.ts';
import { caPaths } from '../../src/tls/local-ca.ts';
import { tlsDir } from '../../src/config/paths.ts';
import { readFileSync } from 'node:fs';
import { closeServer, handshake, listen, memoryLog, peerFingerprint, tempDir, tlsConfig, waitFor } from './helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function get(port: number, ca: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', ca, servername: host === '::1' || host === '127.0.0.1' ? '' : host }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('TLS manager, mode local', () => {
  void test('serves the local-CA certificate over TLS 1.3; a client trusting the CA verifies 127.0.0.1 and localhost', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const { log } = memoryLog();
    const mgr = await createTlsManager({ config: tlsConfig({}), dataDir: t.dir, log });
    cleanups.push(() => mgr.close());
    const { server, port } = await listen(mgr.serverOptions());
    cleanups.push(() => closeServer(server));
    const caPem = readFileSync(caPaths(tlsDir(t.dir)).certPath, 'utf8');
    assert.deepEqual(await get(port, caPem, '127.0.0.1'), { status: 200, body: 'ok' });
    const sock = await handshake(port, { ca: caPem, servername: 'localhost' });
    assert.equal(sock.getProtocol(), 'TLSv1.3');
    assert.equal(sock.authorized, true);
    sock.destroy();
    await assert.rejects(handshake(port, { ca: caPem, maxVersion: 'TLSv1.2' }), 'TLS 1.2 must be refused by default');

    const st = mgr.status();
    assert.equal(st.mode, 'local');
    assert.equal(st.minVersion, '1.3');
    assert.equal(st.clientAuth, 'off');
    assert.equal(st.certificate.source, 'local-ca');
    assert.ok(st.certificate.sans.includes('127.0.0.1'));
    assert.match(st.certificate.issuer, /Ollama Warden Local CA/);
    assert.ok(st.certificate.daysLeft >= 396);
    assert.ok(st.ca && st.ca.fingerprint256.length === 95 && st.ca.warning === undefined);
  });

  void test('renews the server certificate at 2/3 of its life and hot-swaps it into new handshakes', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const { log, lines } = memoryLog();
    const mgr = await createTlsManager({ config: tlsConfig({}), dataDir: t.dir, log, localCertLifetimeMs: 6000 });
    cleanups.push(() => mgr.close());
    const { server, port } = await listen(mgr.serverOptions());
    cleanups.push(() => closeServer(server));
    mgr.onChange((o) => server.setSecureContext(o));
    const caPem = readFileSync(caPaths(tlsDir(t.dir)).certPath, 'utf8');
    const before = await peerFingerprint(port, caPem);
    assert.equal(before, mgr.status().certificate.fingerprint256);
    const swapped = await waitFor(async () => (await peerFingerprint(port, caPem)) !== before, 8000, 250);
    assert.ok(swapped, 'got the same certificate after 2/3 of its life, want a renewed one');
    assert.ok(lines.some((l) => /renewed/.test(l.msg)), 'renewal must be logged');
    assert.notEqual(mgr.status().certificate.fingerprint256, before);
  });
});
