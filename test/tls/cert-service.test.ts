// ClientCertService: issuing and revoking a client certificate writes its audit event in one
// place, with the actor that did it, whether the CLI or the admin API calls it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClientCertService } from '../../src/tls/cert-service.ts';
import type { AuditInput } from '../../src/audit/writer.ts';
import { memoryClientCerts, tempDir } from './helpers.ts';

test('issue and revoke are audited once each, with the actor, name and serial', async () => {
  const dir = tempDir();
  try {
    const events: AuditInput[] = [];
    const store = memoryClientCerts();
    const certs = new ClientCertService({ tlsDir: dir.dir, store, audit: (e) => events.push(e) });

    const issued = await certs.issue({ name: 'laptop', days: 30 }, 'key_admin (admin)');
    assert.deepEqual(
      events.map((e) => [e.kind, e.actor, e.reason]),
      [['cert.issue', 'key_admin (admin)', `client certificate laptop serial ${issued.record.serial}`]],
    );
    assert.equal(issued.keyPath, null, 'without outDir the key is written nowhere');

    const revoked = await certs.revoke('laptop', 'cli');
    assert.equal(revoked.serial, issued.record.serial);
    assert.deepEqual(events.map((e) => [e.kind, e.actor]), [['cert.issue', 'key_admin (admin)'], ['cert.revoke', 'cli']]);
    assert.ok(existsSync(join(dir.dir, 'crl.pem')), 'the CRL is re-signed');
    assert.deepEqual((await certs.list()).map((c) => [c.name, c.state]), [['laptop', 'revoked']]);
  } finally {
    dir.cleanup();
  }
});

test('a refused issue or revoke writes no audit event', async () => {
  const dir = tempDir();
  try {
    const events: AuditInput[] = [];
    const certs = new ClientCertService({ tlsDir: dir.dir, store: memoryClientCerts(), audit: (e) => events.push(e) });
    await assert.rejects(certs.issue({ name: '../etc/passwd' }, 'cli'), /not allowed/);
    await assert.rejects(certs.revoke('nobody', 'cli'), /no client certificate/);
    assert.deepEqual(events, []);
  } finally {
    dir.cleanup();
  }
});
