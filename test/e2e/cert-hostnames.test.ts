// Names on the local CA's server certificate can change after `init`: `warden cert hostnames
// add|remove` (and `init --hostname` on a set-up data dir) reissue the certificate, and the
// running server serves the new one without a restart. The first certificate already carries
// this machine's non-loopback addresses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { withWarden, runCli } from '../helpers/warden.ts';

const stack = withWarden();

/** The names on the certificate the running server hands out now, and whether a client that
 *  trusts the CA accepts it for `servername`. */
function served(servername: string): Promise<{ sans: string; authorized: boolean; error: string | null }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: stack.w.port, ...(isIP(servername) ? {} : { servername }), ca: stack.w.caPem, rejectUnauthorized: false }, () => {
      const cert = s.getPeerX509Certificate();
      const identity = cert ? (isIP(servername) ? cert.checkIP(servername) : cert.checkHost(servername)) : undefined;
      resolve({ sans: cert?.subjectAltName ?? '', authorized: s.authorized && identity !== undefined, error: s.authorizationError ? String(s.authorizationError) : null });
      s.end();
    });
    s.on('error', reject);
  });
}

async function waitForServed(servername: string, want: boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await served(servername);
    last = r.sans;
    if (r.authorized === want) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`the running server did not ${want ? 'start' : 'stop'} serving ${servername}; served: ${last}`);
}

describe('warden cert hostnames', () => {
  it('the first certificate carries localhost, loopback and this machine\'s non-loopback addresses', () => {
    const cert = new X509Certificate(readFileSync(join(stack.w.dataDir, 'tls', 'server.pem')));
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && !(a.family === 'IPv6' && /^fe[89ab]/i.test(a.address)))
      .map((a) => a!.address);
    for (const ip of ['127.0.0.1', ...addresses]) assert.equal(cert.checkIP(ip), ip, `${ip} is on the certificate: ${cert.subjectAltName}`);
    assert.equal(cert.checkHost('localhost'), 'localhost');
  });

  it('add reissues the certificate, keeps warden.yaml\'s comments, and the running server serves it without a restart', async () => {
    const yamlFile = join(stack.w.dataDir, 'warden.yaml');
    writeFileSync(yamlFile, '# my own note about this box\n' + readFileSync(yamlFile, 'utf8'));
    assert.equal((await served('gpu.lan')).authorized, false);
    const pid = stack.w.proc.pid;
    const r = await runCli(['cert', 'hostnames', 'add', 'gpu.lan', '192.0.2.7'], { dataDir: stack.w.dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Reissued the server certificate for: .*gpu\.lan.*192\.0\.2\.7/);
    await waitForServed('gpu.lan', true);
    await waitForServed('192.0.2.7', true);
    assert.equal(stack.w.proc.pid, pid);
    assert.equal(stack.w.proc.exitCode, null, 'the same server process, never restarted');
    const yaml = readFileSync(yamlFile, 'utf8');
    assert.match(yaml, /# my own note about this box/);
    assert.match(yaml, /hostnames:\s*\n\s*- gpu\.lan\n\s*- 192\.0\.2\.7/);

    const list = await runCli(['cert', 'hostnames', 'list', '--json'], { dataDir: stack.w.dataDir });
    assert.equal(list.code, 0, list.stderr);
    const l = JSON.parse(list.stdout) as { certificate: string[]; configured: string[] };
    assert.deepEqual(l.configured, ['gpu.lan', '192.0.2.7']);
    assert.ok(l.certificate.includes('gpu.lan') && l.certificate.includes('localhost'));
  });

  it('remove takes a name off again; the running server follows', async () => {
    const r = await runCli(['cert', 'hostnames', 'remove', 'gpu.lan'], { dataDir: stack.w.dataDir });
    assert.equal(r.code, 0, r.stderr);
    await waitForServed('gpu.lan', false);
    assert.equal((await served('192.0.2.7')).authorized, true);
    const missing = await runCli(['cert', 'hostnames', 'remove', 'never.added'], { dataDir: stack.w.dataDir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /never\.added is not in tls\.hostnames/);
  });

  it('init --hostname on a set-up data dir adds the name (it used to say "Already initialised" and change nothing)', async () => {
    const r = await runCli(['init', '--hostname', 'box.example.test'], { dataDir: stack.w.dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Server certificate names: .*box\.example\.test/);
    await waitForServed('box.example.test', true);
    const keys = JSON.parse((await runCli(['keys', 'list', '--json'], { dataDir: stack.w.dataDir })).stdout) as unknown[];
    assert.equal(keys.length, 1, 'no second admin key');
  });

  it('refuses a name a certificate cannot carry, with exit 2', async () => {
    for (const bad of ['bad name', 'a..b', 'http://x']) {
      const r = await runCli(['cert', 'hostnames', 'add', bad], { dataDir: stack.w.dataDir });
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /neither a DNS name .* nor an IP address/);
    }
  });
});
