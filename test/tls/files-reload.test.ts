// Mode "files": the operator's own certificate. Start-up refuses a bad pair with one clear
// message; replacing the files is picked up within 2 s for new handshakes while a stream that
// is already running finishes normally; a broken new pair is refused and the old one served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createTlsManager } from '../../src/tls/manager.ts';
import { ensureLocalCa, type LocalCa } from '../../src/tls/local-ca.ts';
import { ErrorCode, WardenError } from '../../src/errors.ts';
import { closeServer, fingerprintOf, listen, makeCert, memoryLog, peerFingerprint, tempDir, tlsConfig, waitFor } from './helpers.ts';

const issuerDir = tempDir('warden-issuer-');
const dataDir = tempDir();
let ca: LocalCa;
const cleanups: Array<() => Promise<void> | void> = [];
before(async () => {
  ca = await ensureLocalCa(issuerDir.dir);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  issuerDir.cleanup();
  dataDir.cleanup();
});

let n = 0;
async function writePair(pair: { certPem: string; keyPem: string }, name = `p${n++}`): Promise<{ cert: string; key: string }> {
  const cert = join(dataDir.dir, `${name}.pem`);
  const key = join(dataDir.dir, `${name}-key.pem`);
  writeFileSync(cert, pair.certPem);
  writeFileSync(key, pair.keyPem, { mode: 0o600 });
  return { cert, key };
}

void describe('mode files: start-up refusals', () => {
  const DAY = 86_400_000;
  const cases: Array<{ name: string; setup: () => Promise<Record<string, unknown>>; want: RegExp }> = [
    { name: 'missing certificate file', setup: async () => ({ cert: join(dataDir.dir, 'nope.pem'), key: join(dataDir.dir, 'nope-key.pem') }), want: /tls\.cert .*nope\.pem: file not found/ },
    {
      name: 'key that does not match the certificate',
      setup: async () => {
        const a = await makeCert(ca, { cn: 'a', names: ['localhost'] });
        const b = await makeCert(ca, { cn: 'b', names: ['localhost'] });
        const p = await writePair({ certPem: a.certPem, keyPem: b.keyPem });
        return { cert: p.cert, key: p.key };
      },
      want: /does not match the certificate/,
    },
    {
      name: 'expired certificate',
      setup: async () => ({ ...(await writePair(await makeCert(ca, { cn: 'old', names: ['localhost'], notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) }))) }),
      want: /expired on/,
    },
    {
      name: 'certificate without a SAN for a configured hostname',
      setup: async () => ({ ...(await writePair(await makeCert(ca, { cn: 'x', names: ['localhost'] }))), hostnames: ['ollama.example.test'] }),
      want: /no subject alternative name for "ollama\.example\.test"/,
    },
    { name: 'unreadable key', setup: async () => ({ ...(await writePair({ certPem: (await makeCert(ca, { cn: 'k' })).certPem, keyPem: 'garbage\n' })) }), want: /not a readable PEM private key/ },
    {
      name: 'encrypted key without a passphrase',
      setup: async () => {
        const c = await makeCert(ca, { cn: 'e', names: ['localhost'] });
        return { ...(await writePair({ certPem: c.certPem, keyPem: encrypt(c.keyPem, 'right horse') })) };
      },
      want: /is encrypted; set tls\.keyPassphrase or WARDEN_TLS_KEY_PASSPHRASE/,
    },
    {
      name: 'encrypted key with the wrong passphrase',
      setup: async () => {
        const c = await makeCert(ca, { cn: 'e', names: ['localhost'] });
        return { ...(await writePair({ certPem: c.certPem, keyPem: encrypt(c.keyPem, 'right horse') })), keyPassphrase: 'wrong horse' };
      },
      want: /wrong passphrase/,
    },
  ];
  for (const c of cases) {
    void test(`refuses a ${c.name} with one clear message`, async () => {
      const tls = { mode: 'files', ...(await c.setup()) };
      await assert.rejects(
        createTlsManager({ config: tlsConfig(tls), dataDir: dataDir.dir, log: () => {} }),
        (err: unknown) => {
          assert.ok(err instanceof WardenError, `got ${String(err)}, want a WardenError`);
          assert.equal(err.code, ErrorCode.TLS_INVALID);
          assert.match(err.message, c.want);
          assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace in the message');
          assert.doesNotMatch(err.message, /horse/, 'never echo the passphrase');
          return true;
        },
      );
    });
  }

  void test('accepts an encrypted key with the right passphrase (from WARDEN_TLS_KEY_PASSPHRASE too) and a chain', async () => {
    const c = await makeCert(ca, { cn: 'e', names: ['localhost', 'ollama.example.test'] });
    const p = await writePair({ certPem: c.certPem + ca.certPem, keyPem: encrypt(c.keyPem, 'right horse') });
    const mgr = await createTlsManager({ config: tlsConfig({ mode: 'files', ...p, keyPassphrase: 'right horse', hostnames: ['ollama.example.test'] }), dataDir: dataDir.dir, log: () => {} });
    assert.equal(mgr.status().certificate.fingerprint256, fingerprintOf(c.certPem));
    assert.equal(mgr.status().chain.length, 1);
    await mgr.close();
    process.env.WARDEN_TLS_KEY_PASSPHRASE = 'right horse';
    try {
      const m2 = await createTlsManager({ config: tlsConfig({ mode: 'files', ...p }), dataDir: dataDir.dir, log: () => {} });
      await m2.close();
    } finally {
      delete process.env.WARDEN_TLS_KEY_PASSPHRASE;
    }
  });
});

function encrypt(keyPem: string, passphrase: string): string {
  return createPrivateKey(keyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase }).toString();
}

void describe('mode files: hot reload', () => {
  void test('a renamed-over pair reaches new handshakes within 2 s while an open stream finishes; a broken pair is refused', async () => {
    const first = await makeCert(ca, { cn: 'first', names: ['localhost', '127.0.0.1'] });
    const paths = await writePair(first, 'live');
    const { log, lines } = memoryLog();
    const mgr = await createTlsManager({ config: tlsConfig({ mode: 'files', ...paths }), dataDir: dataDir.dir, log });
    cleanups.push(() => mgr.close());
    // A stream that writes a chunk every 100 ms for 3 s, like an Ollama generation.
    const { server, port } = await listen(mgr.serverOptions(), (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let i = 0;
      const t = setInterval(() => {
        res.write(`{"i":${i}}\n`);
        if (++i === 30) {
          clearInterval(t);
          res.end('{"done":true}\n');
        }
      }, 100);
      res.on('close', () => clearInterval(t));
    });
    cleanups.push(() => closeServer(server));
    mgr.onChange((o) => server.setSecureContext(o));
    assert.equal(await peerFingerprint(port, ca.certPem), fingerprintOf(first.certPem));

    const streamDone = new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', ca: ca.certPem }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 300));

    // Replace by rename-over, the way certbot and `mv` do it (key first, then cert).
    const second = await makeCert(ca, { cn: 'second', names: ['localhost', '127.0.0.1'] });
    const staged = await writePair(second, 'staged');
    renameSync(staged.key, paths.key);
    renameSync(staged.cert, paths.cert);
    const t0 = Date.now();
    const seen = await waitFor(async () => (await peerFingerprint(port, ca.certPem)) === fingerprintOf(second.certPem), 2000, 100);
    assert.ok(seen, `new certificate not served ${Date.now() - t0} ms after the rename; want within 2 s`);

    // A broken pair (key of another certificate) written in place: refused, old pair served.
    const third = await makeCert(ca, { cn: 'third', names: ['localhost'] });
    writeFileSync(paths.cert, third.certPem);
    const logged = await waitFor(() => lines.some((l) => l.level === 'error' && /refused.*does not match/.test(l.msg)), 3000);
    assert.ok(logged, `want an error log line about the refused pair, got ${JSON.stringify(lines)}`);
    assert.equal(await peerFingerprint(port, ca.certPem), fingerprintOf(second.certPem), 'the old pair must stay in service');
    assert.equal(mgr.status().certificate.fingerprint256, fingerprintOf(second.certPem));

    const body = await streamDone;
    assert.match(body, /\{"done":true\}\n$/, 'the stream opened before the reload must finish normally');
    assert.equal(body.split('\n').filter(Boolean).length, 31);
  });
});
