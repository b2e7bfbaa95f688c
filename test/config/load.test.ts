// Config loading: defaults < warden.yaml < WARDEN_* < flags, and errors that name the field,
// the value and what is allowed — without ever printing a secret.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, envName, envLayer, loadConfig } from '../../src/config/load.ts';
import { defaultDataDir } from '../../src/config/paths.ts';
import { isWardenError, ErrorCode } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function leaves(o: Record<string, unknown>, p = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Record<string, unknown>, `${p}${k}.`) : [`${p}${k}`]));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isWardenError(err) && err.code === ErrorCode.CONFIG_INVALID, `not a config error: ${String(err)}`);
    return err.message;
  }
  assert.fail('no error');
}

describe('environment names', () => {
  const cases: Array<[string, string]> = [
    ['tls.clientAuth', 'WARDEN_TLS_CLIENT_AUTH'],
    ['tls.acme.directory', 'WARDEN_TLS_ACME_DIRECTORY'],
    ['limits.maxBodyBytes', 'WARDEN_LIMITS_MAX_BODY_BYTES'],
    ['listen', 'WARDEN_LISTEN'],
  ];
  for (const [path, name] of cases) it(`${path} → ${name}`, () => assert.equal(envName(path), name));

  it('reads lists comma-separated, numbers and booleans', () => {
    const layer = envLayer({ WARDEN_TLS_HOSTNAMES: 'a.lan, b.lan', WARDEN_LIMITS_MAX_BODY_BYTES: '1024', WARDEN_AUDIT_ENABLED: 'false' }) as {
      tls: { hostnames: string[] };
      limits: { maxBodyBytes: number };
      audit: { enabled: boolean };
    };
    assert.deepEqual(layer.tls.hostnames, ['a.lan', 'b.lan']);
    assert.equal(layer.limits.maxBodyBytes, 1024);
    assert.equal(layer.audit.enabled, false);
  });
});

describe('precedence', () => {
  it('defaults < file < environment < flags', () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:1001\nupstream: http://127.0.0.1:2001\ntls:\n  minVersion: "1.2"\n');
    const fileOnly = loadConfig({ dataDir: dir, configFile: file, env: {} });
    assert.equal(fileOnly.listen, '127.0.0.1:1001');
    assert.equal(fileOnly.tls.minVersion, '1.2');
    assert.equal(fileOnly.tls.mode, DEFAULTS.tls.mode);
    const withEnv = loadConfig({ dataDir: dir, configFile: file, env: { WARDEN_LISTEN: '127.0.0.1:1002', WARDEN_UPSTREAM: 'http://127.0.0.1:2002' } });
    assert.equal(withEnv.listen, '127.0.0.1:1002');
    const withFlags = loadConfig({ dataDir: dir, configFile: file, env: { WARDEN_LISTEN: '127.0.0.1:1002' }, flags: { listen: '127.0.0.1:1003', minTls: '1.3' } });
    assert.equal(withFlags.listen, '127.0.0.1:1003');
    assert.equal(withFlags.tls.minVersion, '1.3');
  });
});

describe('errors name the field, the value and what is allowed', () => {
  it('an enum', () => {
    const msg = errorOf(() => loadConfig({ dataDir: dir, configFile: join(dir, 'none.yaml'), env: { WARDEN_TLS_MIN_VERSION: '1.0' } }));
    assert.match(msg, /tls\.minVersion/);
    assert.match(msg, /"1\.0"/);
    assert.match(msg, /"1\.3" \| "1\.2"/);
  });

  it('an unquoted minVersion: 1.3 in warden.yaml (a YAML number) says to quote it', () => {
    for (const v of ['1.3', '1.2']) {
      const file = join(dir, `unquoted-${v}.yaml`);
      writeFileSync(file, `tls:\n  minVersion: ${v}\n`);
      const msg = errorOf(() => loadConfig({ dataDir: dir, configFile: file, env: {} }));
      assert.match(msg, /tls\.minVersion/);
      assert.ok(msg.includes(`quote it, minVersion: "${v}"`), msg);
    }
  });

  it('a number', () => {
    const msg = errorOf(() => loadConfig({ dataDir: dir, configFile: join(dir, 'none.yaml'), env: { WARDEN_LIMITS_MAX_BODY_BYTES: 'lots' } }));
    assert.match(msg, /limits\.maxBodyBytes/);
    assert.match(msg, /"lots"/);
  });

  it('a server-wide flood burst that would brake nothing or everything', () => {
    for (const v of ['0', '-5', '2.5', '2000000']) {
      const msg = errorOf(() => loadConfig({ dataDir: dir, configFile: join(dir, 'none.yaml'), env: { WARDEN_SECURITY_FLOOD_TARPIT_BURST: v } }));
      assert.match(msg, /security\.floodTarpitBurst/, msg);
    }
    assert.equal(loadConfig({ dataDir: dir, configFile: join(dir, 'none.yaml'), env: {} }).security.floodTarpitBurst, 100);
  });

  it('never the value of a secret field (key passphrase, database URL with a password)', () => {
    const file = join(dir, 's.yaml');
    writeFileSync(file, 'tls:\n  keyPassphrase: 12345\nstore:\n  url: "mysql://u:hunter2@db/x"\n');
    const msg = errorOf(() => loadConfig({ dataDir: dir, configFile: file, env: {} }));
    assert.match(msg, /store\.url/);
    assert.doesNotMatch(msg, /hunter2|12345/);
  });
});

describe('documentation', () => {
  it('the README documents every configuration field', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const missing = leaves(DEFAULTS as unknown as Record<string, unknown>).filter((f) => !readme.includes('`' + f + '`'));
    assert.deepEqual(missing, []);
  });
});

describe('default data directory per platform', () => {
  const cases: Array<[NodeJS.Platform, NodeJS.ProcessEnv, string, string]> = [
    ['linux', {}, '/home/ada', '/home/ada/.local/share/warden'],
    ['linux', { XDG_DATA_HOME: '/data/xdg' }, '/home/ada', '/data/xdg/warden'],
    ['darwin', {}, '/Users/ada', '/Users/ada/Library/Application Support/warden'],
    ['win32', { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'C:\\Users\\ada', 'C:\\Users\\ada\\AppData\\Roaming\\warden'],
  ];
  for (const [platform, env, home, want] of cases) {
    it(`${platform}${env.XDG_DATA_HOME ? ' with XDG_DATA_HOME' : ''} → ${want}`, () => assert.equal(defaultDataDir(platform, env, home), want));
  }
});
