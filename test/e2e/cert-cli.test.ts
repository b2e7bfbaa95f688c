// `warden cert status|trust|client …` as a user runs them, with the server stopped.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runCli, tempDir, removeDir } from '../helpers/warden.ts';

let d: string;
before(async () => {
  d = tempDir();
  const r = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], { dataDir: d });
  assert.equal(r.code, 0, r.stderr);
});
after(() => removeDir(d));

describe('warden cert status', () => {
  it('shows the server certificate, its names, expiry and fingerprint, and the CA', async () => {
    const r = await runCli(['cert', 'status', '--json'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { source: string; certificate: { sans: string[]; fingerprint256: string; daysLeft: number }; ca: { fingerprint256: string } };
    assert.equal(s.source, 'offline');
    const served = new X509Certificate(readFileSync(join(d, 'tls', 'server.pem')));
    assert.equal(s.certificate.fingerprint256, served.fingerprint256);
    for (const n of ['localhost', '127.0.0.1', '::1']) assert.ok(s.certificate.sans.some((x) => x.includes(n)), `SAN ${n}`);
    assert.ok(s.certificate.daysLeft > 300 && s.certificate.daysLeft <= 397);
    assert.equal(s.ca.fingerprint256, new X509Certificate(readFileSync(join(d, 'tls', 'ca.pem'))).fingerprint256);
    const human = await runCli(['cert', 'status'], { dataDir: d });
    assert.match(human.stdout, /server not running/);
  });
});

describe('warden cert trust', () => {
  it('prints how to trust the CA on Linux, macOS and Windows and for each client', async () => {
    const r = await runCli(['cert', 'trust'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    for (const needle of ['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'certutil', 'security add-trusted-cert', 'verify=']) {
      assert.ok(r.stdout.includes(needle), `missing ${needle}`);
    }
    assert.ok(r.stdout.includes(join(d, 'tls', 'ca.pem')));
  });

  it('--install --dry-run only prints the commands', async () => {
    const anchors = tempDir();
    try {
      const r = await runCli(['cert', 'trust', '--install', '--dry-run', '--linux-dir', anchors], { dataDir: d });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /would run/);
      assert.equal(execFileSync('ls', [anchors]).toString(), '');
    } finally {
      removeDir(anchors);
    }
  });

  it('--install copies the CA into a trust directory', async () => {
    const anchors = tempDir();
    try {
      const r = await runCli(['cert', 'trust', '--install', '--linux-dir', anchors], { dataDir: d });
      assert.equal(r.code, 0, r.stderr);
      const copied = execFileSync('ls', [anchors]).toString().trim();
      assert.ok(copied.length > 0);
      assert.equal(readFileSync(join(anchors, copied), 'utf8'), readFileSync(join(d, 'tls', 'ca.pem'), 'utf8'));
    } finally {
      removeDir(anchors);
    }
  });
});

describe('warden cert client', () => {
  it('issues a client certificate with a PKCS#12 bundle whose password is printed once', async () => {
    const r = await runCli(['cert', 'client', 'issue', 'laptop', '--days', '30', '--out', join(d, 'out')], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    const password = /PKCS#12 password \(shown once\): (\S+)/.exec(r.stdout)?.[1];
    assert.ok(password);
    const p12 = join(d, 'out', 'laptop.p12');
    assert.ok(existsSync(p12));
    assert.equal(statSync(join(d, 'out', 'laptop-key.pem')).mode & 0o077, 0);
    execFileSync('openssl', ['pkcs12', '-info', '-noout', '-in', p12, '-passin', `pass:${password}`], { stdio: 'pipe' });
    const list = JSON.parse((await runCli(['cert', 'client', 'list', '--json'], { dataDir: d })).stdout) as Array<{ name: string; state: string }>;
    assert.deepEqual(list.map((c) => [c.name, c.state]), [['laptop', 'active']]);
    assert.doesNotMatch((await runCli(['cert', 'client', 'list'], { dataDir: d })).stdout, new RegExp(password));
  });

  it('revokes by name and puts it on the CRL', async () => {
    const r = await runCli(['cert', 'client', 'revoke', 'laptop'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse((await runCli(['cert', 'client', 'list', '--json'], { dataDir: d })).stdout) as Array<{ state: string; serial: string }>;
    assert.equal(list[0]!.state, 'revoked');
    const crl = execFileSync('openssl', ['crl', '-in', join(d, 'tls', 'crl.pem'), '-noout', '-text']).toString();
    assert.match(crl.toLowerCase().replace(/:/g, ''), new RegExp(list[0]!.serial.toLowerCase().replace(/^0+/, '')));
    const again = await runCli(['cert', 'client', 'revoke', 'nobody'], { dataDir: d });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no client certificate/);
  });
});
