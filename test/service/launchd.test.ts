// The launchd plist, read back by a real plist parser (Python's plistlib, the same format
// rules as macOS's plutil) so escaping mistakes show up as wrong values, not as string diffs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { launchdPlist, launchdPlistPath, launchdInstallCommands, launchdUninstallCommands } from '../../src/service/launchd.ts';
import { LAUNCHD_LABEL, type ServiceSpec } from '../../src/service/spec.ts';

const dataDir = '/Users/zoë/Library/Application Support/warden <&> "x"';

function spec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    platform: 'darwin',
    scope: 'system',
    name: 'warden',
    execPath: '/opt/warden/runtime/node_modules/node/bin/node',
    scriptPath: '/opt/warden/app/dist/src/cli/main.js',
    dataDir,
    user: '_warden',
    ports: [11443],
    ...over,
  };
}

/** Parses the plist with plistlib and returns it as JSON. */
function parsePlist(xml: string): Record<string, unknown> {
  const r = spawnSync('python3', ['-c', 'import plistlib,sys,json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], { input: xml, encoding: 'utf8' });
  if (r.error) throw new Error('python3 is needed to parse the plist: apt-get install -y python3');
  assert.equal(r.status, 0, `plist did not parse:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

void describe('launchd plist', () => {
  void test('parses and carries the exact program arguments (spaces, ü, XML metacharacters)', () => {
    const p = parsePlist(launchdPlist(spec()));
    assert.equal(p.Label, LAUNCHD_LABEL);
    assert.deepEqual(p.ProgramArguments, [spec().execPath, spec().scriptPath, 'serve', '--data-dir', dataDir]);
    assert.deepEqual(p.EnvironmentVariables, { WARDEN_DATA_DIR: dataDir, NODE_ENV: 'production', WARDEN_SERVICE: '1' });
    assert.equal(p.WorkingDirectory, dataDir);
  });

  const cases: Array<{ attack: string; over?: Partial<ServiceSpec>; key: string; want: unknown }> = [
    { attack: 'the daemon runs as root', key: 'UserName', want: '_warden' },
    { attack: 'keys and database are created world-readable (umask 0077)', key: 'Umask', want: 0o077 },
    { attack: 'a crash leaves the gateway down', key: 'KeepAlive', want: { SuccessfulExit: false } },
    { attack: 'a per-user agent switches account (needs root)', over: { scope: 'user' }, key: 'UserName', want: undefined },
  ];
  for (const c of cases) {
    void test(`stops: ${c.attack}`, () => {
      const p = parsePlist(launchdPlist(spec(c.over)));
      assert.deepEqual(p[c.key], c.want, `${c.key}: got ${JSON.stringify(p[c.key])}, want ${JSON.stringify(c.want)}`);
    });
  }

  void test('a newline in a path cannot add a key', () => {
    assert.throws(() => launchdPlist(spec({ dataDir: '/x</string><key>UserName</key><string>root\n' })), /control character/);
  });

  void test('daemon vs agent: file location and launchctl domain', () => {
    assert.equal(launchdPlistPath({ scope: 'system' }, '/Users/a'), `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`);
    assert.equal(launchdPlistPath({ scope: 'user' }, '/Users/a b'), `/Users/a b/Library/LaunchAgents/${LAUNCHD_LABEL}.plist`);
    assert.deepEqual(launchdInstallCommands({ scope: 'user' }, '/p.plist', 501)[0], ['launchctl', ['bootstrap', 'gui/501', '/p.plist']]);
    assert.deepEqual(launchdUninstallCommands({ scope: 'system' }, 0)[0], ['launchctl', ['bootout', `system/${LAUNCHD_LABEL}`]]);
  });
});
