// `cert status` read from disk matches the running manager's view; the clientAuth verdict table.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTlsManager } from '../../src/tls/manager.ts';
import { formatCertStatus, readCertStatus } from '../../src/tls/status.ts';
import { clientCertVerdict } from '../../src/tls/client-audit.ts';
import type { ClientCertCheck } from '../../src/tls/client-verify.ts';
import { ErrorCode, WardenError } from '../../src/errors.ts';
import { ensureLocalCa } from '../../src/tls/local-ca.ts';
import { writeCrl } from '../../src/tls/crl.ts';
import { tlsDir } from '../../src/config/paths.ts';
import { tempDir, tlsConfig } from './helpers.ts';

const t = tempDir();
after(() => t.cleanup());

void describe('cert status', () => {
  void test('before init: one clear message; after: the same certificate the server serves, in JSON and aligned text', async () => {
    const config = tlsConfig({ clientAuth: 'optional', hostnames: ['ollama.lan'] });
    await assert.rejects(readCertStatus(config, t.dir), (e: unknown) => e instanceof WardenError && e.code === ErrorCode.TLS_INVALID && /warden init/.test(e.message));
    const mgr = await createTlsManager({ config, dataDir: t.dir, log: () => {} });
    const live = mgr.status();
    await mgr.close();
    const disk = await readCertStatus(config, t.dir);
    assert.equal(disk.certificate.fingerprint256, live.certificate.fingerprint256);
    assert.equal(disk.ca?.fingerprint256, live.ca?.fingerprint256);
    assert.equal(disk.clientAuth, 'optional');
    assert.ok(disk.crl?.nextUpdate, 'mTLS on: a CRL with nextUpdate');
    assert.ok(disk.certificate.sans.includes('ollama.lan'));
    const text = formatCertStatus(disk);
    for (const want of ['TLS mode:      local', 'TLS 1.3', 'client certs:  optional', disk.certificate.fingerprint256, 'days left', 'Local CA:', 'CRL:']) assert.ok(text.includes(want), `status text lacks ${want}:\n${text}`);
    assert.deepEqual(JSON.parse(JSON.stringify(disk)), disk, 'status must be plain JSON');
  });
});

void describe('CRL upkeep', () => {
  void test('a CRL signed two days ago is re-signed at start-up, well before its nextUpdate', async () => {
    const d = tempDir();
    try {
      const ca = await ensureLocalCa(tlsDir(d.dir));
      const old = await writeCrl(tlsDir(d.dir), ca, [{ serial: '4a1b', revokedAt: new Date(Date.now() - 3 * 86_400_000) }], new Date(Date.now() - 2 * 86_400_000));
      const mgr = await createTlsManager({ config: tlsConfig({ clientAuth: 'require' }), dataDir: d.dir, log: () => {} });
      const crl = mgr.status().crl;
      await mgr.close();
      assert.ok(crl, 'want a CRL in status');
      assert.ok(Date.now() - Date.parse(crl.thisUpdate) < 60_000, `CRL not re-signed: thisUpdate ${crl.thisUpdate}, was ${old.thisUpdate.toISOString()}`);
      assert.ok(Date.parse(crl.nextUpdate!) - Date.now() > 6 * 86_400_000);
      assert.equal(crl.revoked, 1, 'the revoked serial must survive the re-signing');
    } finally {
      d.cleanup();
    }
  });
});

void describe('client certificate verdict (what the request path does with checkClientCert)', () => {
  const ok: ClientCertCheck = { state: 'ok', subject: 'CN=a', fingerprint: 'ab', serial: '1' };
  const none: ClientCertCheck = { state: 'none' };
  const revoked: ClientCertCheck = { state: 'refused', reason: 'revoked', subject: 'CN=a' };
  const cases: Array<[string, 'off' | 'optional' | 'require', ClientCertCheck, boolean, string | null]> = [
    ['off ignores certificates', 'off', revoked, true, null],
    ['optional without a certificate falls back to the API key', 'optional', none, true, null],
    ['optional with a revoked certificate is refused (never silently ignored)', 'optional', revoked, false, 'client certificate refused: revoked'],
    ['require without a certificate is refused', 'require', none, false, 'client certificate required'],
    ['require with a good certificate passes', 'require', ok, true, null],
  ];
  for (const [name, mode, check, allowed, reason] of cases) {
    void test(name, () => {
      const v = clientCertVerdict(mode, check);
      assert.equal(v.allowed, allowed);
      assert.equal(v.reason, reason);
    });
  }
});
