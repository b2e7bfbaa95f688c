// TLS-ALPN-01 hooks on the main listener (RFC 8737): the CA's "acme-tls/1" handshake for a
// pending name gets the challenge certificate; ordinary clients keep getting the real one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as acme from 'acme-client';
import { AlpnChallenges, ACME_TLS_PROTOCOL } from '../../src/tls/acme-alpn.ts';
import { ensureLocalCa } from '../../src/tls/local-ca.ts';
import { issueServerCert } from '../../src/tls/server-cert.ts';
import { tlsProfile } from '../../src/tls/profile.ts';
import { closeServer, fingerprintOf, handshake, listen, tempDir } from './helpers.ts';

void describe('TLS-ALPN-01 hooks', () => {
  void test('serve the challenge certificate only to acme-tls/1 for a pending name', async () => {
    const t = tempDir();
    const ca = await ensureLocalCa(t.dir);
    const normal = await issueServerCert(ca, ['pending.example.com']);
    const alpn = new AlpnChallenges();
    const authz = { identifier: { type: 'dns', value: 'pending.example.com' } } as unknown as Parameters<typeof acme.crypto.createAlpnCertificate>[0];
    const [k, c] = await acme.crypto.createAlpnCertificate(authz, 'token.thumbprint');
    alpn.set('pending.example.com', c.toString(), k.toString());
    const { server, port } = await listen({ ...tlsProfile('1.3'), cert: normal.certPem, key: normal.keyPem, ...alpn.hooks() });
    try {
      const challenge = await handshake(port, { servername: 'pending.example.com', ALPNProtocols: [ACME_TLS_PROTOCOL], rejectUnauthorized: false });
      assert.equal(challenge.alpnProtocol, ACME_TLS_PROTOCOL);
      const got = challenge.getPeerX509Certificate()!;
      challenge.destroy();
      assert.ok(acme.crypto.isAlpnCertificateAuthorizationValid(got.toString(), 'token.thumbprint'), 'challenge certificate must carry the key authorization');

      const browser = await handshake(port, { servername: 'other.example.com', ALPNProtocols: ['h2', 'http/1.1'], ca: ca.certPem, checkServerIdentity: () => undefined });
      assert.equal(browser.alpnProtocol, 'http/1.1');
      assert.equal(browser.getPeerX509Certificate()!.fingerprint256, fingerprintOf(normal.certPem));
      browser.destroy();

      alpn.delete('pending.example.com');
      const after = await handshake(port, { servername: 'pending.example.com', ALPNProtocols: [ACME_TLS_PROTOCOL, 'http/1.1'], ca: ca.certPem });
      assert.equal(after.alpnProtocol, 'http/1.1', 'no pending challenge: acme-tls/1 is not selected');
      assert.equal(after.getPeerX509Certificate()!.fingerprint256, fingerprintOf(normal.certPem));
      after.destroy();
    } finally {
      await closeServer(server);
      t.cleanup();
    }
  });
});
