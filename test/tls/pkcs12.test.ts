// PKCS#12 bundles: the key derivation checked against OpenSSL's own implementation, and the
// bundle read by Node's TLS stack (OpenSSL underneath) with its password and refused without it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSecureContext } from 'node:tls';
import { pkcs12Kdf, buildPkcs12 } from '../../src/tls/pkcs12.ts';
import { ensureLocalCa } from '../../src/tls/local-ca.ts';
import { makeCert, tempDir } from './helpers.ts';

/** OpenSSL's PKCS12KDF takes the password bytes as given: PKCS#12 hands it a BMPString with its terminator. */
function opensslKdf(password: string, salt: Buffer, id: number, iterations: number, length: number): Buffer {
  const bmp = Buffer.from(password + '\0', 'utf16le').swap16();
  const out = execFileSync(
    'openssl',
    ['kdf', '-keylen', String(length), '-kdfopt', 'digest:SHA2-256', '-kdfopt', `hexpass:${bmp.toString('hex')}`, '-kdfopt', `hexsalt:${salt.toString('hex')}`, '-kdfopt', `iter:${iterations}`, '-kdfopt', `id:${id}`, 'PKCS12KDF'],
    { encoding: 'utf8' },
  );
  return Buffer.from(out.trim().replace(/:/g, ''), 'hex');
}

void describe('PKCS#12', () => {
  const cases = [
    { password: 'hunter2', salt: '0001020304050607', id: 3, iterations: 3, length: 32 },
    // Longer than one SHA-256 block of output: exercises the I_j update of RFC 7292 B.2 step 6.
    { password: 'hunter2', salt: '0001020304050607', id: 3, iterations: 3, length: 64 },
    { password: 'Zq3xY9kLm2Np7Rt5Vw8Bc4Df', salt: 'a1'.repeat(16), id: 3, iterations: 2048, length: 32 },
    { password: 'a password longer than one sixty-four byte block of UTF-16', salt: 'ff'.repeat(70), id: 1, iterations: 2, length: 48 },
  ];
  for (const c of cases) {
    void test(`the RFC 7292 KDF agrees with OpenSSL (id ${c.id}, ${c.length} bytes, ${c.iterations} rounds, ${c.salt.length / 2}-byte salt)`, () => {
      const salt = Buffer.from(c.salt, 'hex');
      assert.equal(pkcs12Kdf(c.password, salt, c.id, c.iterations, c.length).toString('hex'), opensslKdf(c.password, salt, c.id, c.iterations, c.length).toString('hex'));
    });
  }

  void test("a bundle opens in Node's TLS stack with its password, and not with another", async () => {
    const dir = tempDir();
    try {
      const ca = await ensureLocalCa(dir.dir);
      const leaf = await makeCert(ca, { cn: 'p12', purpose: 'clientAuth' });
      const pfx = buildPkcs12({ keyPem: leaf.keyPem, certPems: [leaf.certPem, ca.certPem], password: 'right-password', friendlyName: 'p12' });
      assert.doesNotThrow(() => createSecureContext({ pfx, passphrase: 'right-password' }));
      assert.throws(() => createSecureContext({ pfx, passphrase: 'wrong-password' }), /mac verify failure|bad decrypt|mac/i);
    } finally {
      dir.cleanup();
    }
  });
});
