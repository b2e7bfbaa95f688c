// Issued client credentials left on disk: `POST /_warden/api/certs` answered with the private
// key and PKCS#12 bundle, and also left <name>-key.pem and <name>.p12 under tls/clients/, where
// every backup, every later reader of the data dir and every instance sharing it got the
// client's identity. The credentials now exist only in the answer (the admin API) or where the
// CLI's --out says; Warden keeps only the certificate record (for list, binding and the CRL).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { request } from 'undici';
import { withWarden, runCli, removeDir, tempDir } from '../helpers/warden.ts';

const stack = withWarden();
const out = tempDir();
after(() => removeDir(out));

/** Every file under dir whose content could be a private key or a bundle (by name). */
function credentialFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/laptop|phone/.test(e.name)) found.push(relative(dir, p));
    }
  };
  walk(dir);
  return found;
}

describe('issued client credentials', () => {
  it('the admin API answers with key and bundle and leaves nothing of them in the data dir', async () => {
    const res = await request(`${stack.w.url}/_warden/api/certs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'laptop', days: 30 }),
      dispatcher: stack.w.dispatcher,
    });
    const body = (await res.body.json()) as { keyPem?: string; bundle?: string; password?: string; certPem?: string };
    assert.equal(res.statusCode, 201, JSON.stringify(body));
    assert.match(body.keyPem ?? '', new RegExp(`BEGIN ${'PRIVATE'} KEY`));
    assert.ok((body.bundle ?? '').length > 100 && body.password);
    assert.deepEqual(credentialFiles(stack.w.dataDir), [], 'files of the issued credential were left in the data dir');
    const list = JSON.parse((await runCli(['cert', 'client', 'list', '--json'], { dataDir: stack.w.dataDir })).stdout) as Array<{ name: string }>;
    assert.ok(list.some((c) => c.name === 'laptop'), 'the certificate record must be kept');
  });

  it('the CLI writes key and bundle only where --out says, and needs --out', async () => {
    const none = await runCli(['cert', 'client', 'issue', 'phone'], { dataDir: stack.w.dataDir });
    assert.equal(none.code, 2, none.stdout);
    assert.match(none.stderr, /--out/);
    const r = await runCli(['cert', 'client', 'issue', 'phone', '--out', join(out, 'phone')], { dataDir: stack.w.dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(credentialFiles(stack.w.dataDir), []);
    assert.deepEqual(readdirSync(join(out, 'phone')).sort(), ['phone-key.pem', 'phone.p12', 'phone.pem']);
    assert.equal(statSync(join(out, 'phone', 'phone-key.pem')).mode & 0o777, 0o600);
  });
});
