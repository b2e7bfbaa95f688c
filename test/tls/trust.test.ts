// `warden cert trust`: the per-OS instructions, and --install into a throwaway trust store.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureLocalCa } from '../../src/tls/local-ca.ts';
import { installCommands, installTrust, stepText, trustInstructions } from '../../src/tls/trust.ts';
import { tempDir } from './helpers.ts';

const t = tempDir();
after(() => t.cleanup());

void describe('cert trust', () => {
  void test('instructions cover Linux, macOS, Windows and every client the brief names, with the fingerprint', async () => {
    const ca = await ensureLocalCa(join(t.dir, 'ca'));
    const text = trustInstructions(ca.certPath, ca.fingerprint256);
    for (const want of ['update-ca-certificates', 'update-ca-trust', 'security add-trusted-cert', 'certutil -addstore -f Root', 'SSL_CERT_FILE=', 'Keychain', 'NODE_EXTRA_CA_CERTS=', 'verify=', 'REQUESTS_CA_BUNDLE=', ca.fingerprint256])
      assert.ok(text.includes(want), `instructions lack ${want}`);
  });

  void test('install commands per platform', () => {
    const p = '/data/tls/ca.pem';
    assert.deepEqual(installCommands('darwin', p).map((s) => stepText(s, 'darwin')), ['security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain /data/tls/ca.pem']);
    assert.deepEqual(installCommands('win32', 'C:\\w\\ca.pem', { user: true }).map((s) => stepText(s, 'win32')), ['certutil -user -addstore -f Root C:\\w\\ca.pem']);
    assert.deepEqual(installCommands('linux', p, { linuxDir: '/x/anchors' }).map((s) => stepText(s, 'linux')), ['cp /data/tls/ca.pem /x/anchors/ollama-warden-ca.crt', 'update-ca-certificates']);
  });

  void test('--dry-run prints and changes nothing; --install copies the CA into the (throwaway) anchor dir and runs the update command', async () => {
    const ca = await ensureLocalCa(join(t.dir, 'ca2'));
    const anchors = join(t.dir, 'anchors');
    const marker = join(t.dir, 'updated');
    const dry = installTrust('linux', ca.certPath, { linuxDir: anchors, linuxUpdate: ['touch', marker], dryRun: true });
    assert.equal(dry.ran, false);
    assert.equal(dry.commands.length, 2);
    assert.equal(existsSync(anchors), false, 'dry run must not write');
    const real = installTrust('linux', ca.certPath, { linuxDir: anchors, linuxUpdate: ['touch', marker] });
    assert.equal(real.ran, true);
    const installed = join(anchors, 'ollama-warden-ca.crt');
    assert.equal(readFileSync(installed, 'utf8'), ca.certPem);
    assert.equal(statSync(installed).mode & 0o777, 0o644);
    assert.ok(existsSync(marker), 'the update command must run');
    // The installed anchor really is a CA openssl accepts for a server cert issued by it.
    assert.match(execFileSync('openssl', ['x509', '-noout', '-subject', '-in', installed], { encoding: 'utf8' }), /Ollama Warden Local CA/);
  });

  void test('a failing step is one clear message, and a missing CA says to run init', async () => {
    const ca = await ensureLocalCa(join(t.dir, 'ca3'));
    assert.throws(() => installTrust('linux', ca.certPath, { linuxDir: join(t.dir, 'a3'), linuxUpdate: ['warden-no-such-command'] }), /installing the CA failed at `warden-no-such-command`: command or directory not found/);
    assert.throws(() => installTrust('linux', join(t.dir, 'none.pem')), /does not exist yet; run `warden init`/);
  });
});
