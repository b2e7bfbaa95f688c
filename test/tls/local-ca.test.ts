// The local CA and its server certificate, checked on disk and with openssl itself.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ensureLocalCa, loadLocalCa, caExpiryWarning } from '../../src/tls/local-ca.ts';
import { ensureServerCert, issueServerCert } from '../../src/tls/server-cert.ts';
import { certSans } from '../../src/tls/x509-util.ts';
import { ErrorCode, WardenError } from '../../src/errors.ts';
import { makeCert, tempDir } from './helpers.ts';
import { x509 } from '../../src/tls/x509-lib.ts';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((c) => c()));
function fresh(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
}
const posix = process.platform !== 'win32';

void describe('local CA', () => {
  void test('is created once: ECDSA P-256, 10 years, CA:TRUE pathlen 0, keyCertSign+cRLSign, key 0600, cert 0644', async () => {
    const dir = fresh();
    const ca = await ensureLocalCa(dir);
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (ca.notAfter.getTime() - ca.notBefore.getTime()) / (365.25 * 86_400_000);
    assert.ok(years > 9.99 && years < 10.01, `got ${years} years, want 10`);
    assert.match(ca.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(ca.fingerprint256, cert.fingerprint256);
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', ca.certPath], { encoding: 'utf8' });
    assert.match(text, /CA:TRUE, pathlen:0/);
    assert.match(text, /Certificate Sign, CRL Sign/);
    if (posix) {
      assert.equal(statSync(ca.keyPath).mode & 0o777, 0o600);
      assert.equal(statSync(ca.certPath).mode & 0o777, 0o644);
    }
    const again = await ensureLocalCa(dir);
    assert.equal(again.fingerprint256, ca.fingerprint256, 'a second call must reuse the CA, not replace it');
    assert.equal(caExpiryWarning(ca), undefined);
    assert.match(caExpiryWarning(ca, new Date(ca.notAfter.getTime() - 30 * 86_400_000)) ?? '', /expires in 30 days/);
  });

  const refusals: Array<{ name: string; mode?: number; corrupt?: 'key' | 'cert' | 'otherKey'; want: RegExp }> = [
    { name: 'a group-readable CA key (other local users could mint certificates)', mode: 0o640, want: /readable by other users \(mode 0640\).*chmod 600/ },
    { name: 'a world-readable CA key', mode: 0o604, want: /readable by other users/ },
    { name: 'a CA key that is not a key', corrupt: 'key', want: /not a readable PEM private key/ },
    { name: 'a CA key from another CA', corrupt: 'otherKey', want: /does not belong to the certificate/ },
  ];
  for (const r of refusals) {
    void test(`refuses ${r.name}`, { skip: r.mode !== undefined && !posix ? 'POSIX file modes' : false }, async () => {
      const dir = fresh();
      const ca = await ensureLocalCa(dir);
      if (r.mode !== undefined) chmodSync(ca.keyPath, r.mode);
      if (r.corrupt === 'key') writeFileSync(ca.keyPath, 'not a key\n', { mode: 0o600 });
      if (r.corrupt === 'otherKey') {
        const other = await ensureLocalCa(fresh());
        writeFileSync(ca.keyPath, other.keyPem, { mode: 0o600 });
      }
      assert.throws(
        () => loadLocalCa(dir),
        (err: unknown) => err instanceof WardenError && err.code === ErrorCode.TLS_INVALID && r.want.test(err.message),
      );
      await assert.rejects(ensureLocalCa(dir), WardenError, 'ensureLocalCa must not silently replace a broken CA');
    });
  }
});

void describe('server certificate', () => {
  void test('has SANs for localhost, 127.0.0.1, ::1, the hostname and extra names; serverAuth; ≤ 397 days; openssl verifies it', async () => {
    const dir = fresh();
    const ca = await ensureLocalCa(dir);
    const sc = await ensureServerCert(dir, ['warden.example.test', '192.0.2.7', '2001:db8::7'], { ca });
    const sans = certSans(sc.certPem);
    for (const want of ['localhost', '127.0.0.1', '::1', hostname().toLowerCase(), 'warden.example.test', '192.0.2.7', '2001:db8::7'])
      assert.ok(sans.includes(want), `SANs ${sans.join(',')} lack ${want}`);
    const cert = new X509Certificate(sc.certPem);
    assert.ok(cert.checkIP('127.0.0.1') && cert.checkIP('::1') && cert.checkHost('localhost'));
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    const days = (sc.notAfter.getTime() - sc.notBefore.getTime()) / 86_400_000;
    assert.ok(days <= 397.01, `got ${days} days, want ≤ 397`);
    assert.equal(execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', ca.certPath, sc.certPath], { encoding: 'utf8' }).trim(), `${sc.certPath}: OK`);
    if (posix) assert.equal(statSync(sc.keyPath).mode & 0o777, 0o600);
  });

  void test('is reused across restarts, and replaced when the names change, at 2/3 of its life, or when its files are broken', async () => {
    const dir = fresh();
    const ca = await ensureLocalCa(dir);
    const first = await ensureServerCert(dir, ['a.test'], { ca });
    assert.equal(first.reused, false);
    const same = await ensureServerCert(dir, ['a.test'], { ca });
    assert.equal(same.reused, true);
    assert.equal(same.certPem, first.certPem);
    const renamed = await ensureServerCert(dir, ['b.test'], { ca });
    assert.equal(renamed.reused, false, 'names changed: want a new certificate');
    assert.ok(certSans(renamed.certPem).includes('b.test'));
    const late = new Date(renamed.renewAt.getTime() + 1000);
    const renewed = await ensureServerCert(dir, ['b.test'], { ca, now: late });
    assert.equal(renewed.reused, false, 'past 2/3 of its life: want a new certificate');
    writeFileSync(join(dir, 'server-key.pem'), 'garbage', { mode: 0o600 });
    const repaired = await ensureServerCert(dir, ['b.test'], { ca });
    assert.equal(repaired.reused, false, 'broken key file: want a new certificate');
  });

  void test('certSans reads names as they were issued: node prints IPv6 long and upper case, this gives RFC 5952 form', async () => {
    const ca = await ensureLocalCa(fresh());
    const names = ['*.wild.test', 'fe80::1:0:0:2', '2001:db8::', '::1', '10.0.0.1', 'x.test'];
    const { certPem } = await makeCert(ca, { cn: 'sans', names });
    assert.match(new X509Certificate(certPem).subjectAltName ?? '', /IP Address:FE80:0:0:0:1:0:0:2/, 'control: node:crypto prints IPv6 uncompressed');
    assert.deepEqual(certSans(certPem), names);
    const viaPeculiar = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON().map((n) => n.value);
    assert.deepEqual(certSans(certPem), viaPeculiar);
  });

  void test('is refused by a client that trusts another CA', async () => {
    const a = await ensureLocalCa(fresh());
    const b = await ensureLocalCa(fresh());
    const sc = await issueServerCert(a, []);
    assert.equal(new X509Certificate(sc.certPem).verify(new X509Certificate(b.certPem).publicKey), false);
  });
});
