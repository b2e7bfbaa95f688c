// The generated systemd unit, checked by systemd itself (systemd-analyze verify and its
// offline security audit) and directive by directive. systemd-analyze comes with Debian's
// `systemd` package; under CI its absence is a failure, not a skip.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemdUnit, systemdQuote, systemdUnitPath } from '../../src/service/systemd.ts';
import type { ServiceSpec } from '../../src/service/spec.ts';

const tmp = mkdtempSync(join(tmpdir(), 'warden-systemd-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// A data dir with a space, a non-ASCII letter, a percent sign and a dollar: each means
// something to systemd's parser and must come through literally.
const dataDir = join(tmp, 'dätä dir 100% $HOME');
mkdirSync(dataDir, { recursive: true });
const script = join(tmp, 'app dir', 'main.js');
mkdirSync(join(tmp, 'app dir'));
writeFileSync(script, '');

function spec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    platform: 'linux',
    scope: 'system',
    name: 'warden',
    execPath: process.execPath,
    scriptPath: script,
    dataDir,
    user: 'warden',
    ports: [11443],
    ...over,
  };
}

/** Directives as systemd reads them: later lines of the same key add to (or reset) earlier ones. */
function directives(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!);
    out.set(m[1]!, list);
  }
  return out;
}

function one(unit: string, key: string): string | undefined {
  const v = directives(unit).get(key);
  return v === undefined ? undefined : v[v.length - 1];
}

function hasSystemdAnalyze(): boolean {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (r.error && process.env.CI) throw new Error('systemd-analyze is missing: apt-get install -y systemd');
  return !r.error;
}

void describe('systemd unit: hardening directives (each named after what it stops)', () => {
  const cases: Array<{ attack: string; over?: Partial<ServiceSpec>; key: string; want: string | undefined }> = [
    { attack: 'a compromised Warden gains root through a setuid binary', key: 'NoNewPrivileges', want: 'yes' },
    { attack: 'a compromised Warden rewrites /usr or /etc', key: 'ProtectSystem', want: 'strict' },
    { attack: 'the data dir is not writable under ProtectSystem=strict', key: 'ReadWritePaths', want: systemdQuote(dataDir) },
    { attack: 'the proxy runs as root', key: 'User', want: 'warden' },
    { attack: 'keys and database are created world-readable', key: 'UMask', want: '0077' },
    { attack: 'listening on 11443 keeps any capability', key: 'CapabilityBoundingSet', want: '' },
    { attack: 'listening on 11443 keeps an ambient capability', key: 'AmbientCapabilities', want: '' },
    { attack: 'listening on 443 needs CAP_NET_BIND_SERVICE', over: { ports: [443] }, key: 'AmbientCapabilities', want: 'CAP_NET_BIND_SERVICE' },
    { attack: 'listening on 443 grants more than CAP_NET_BIND_SERVICE', over: { ports: [443] }, key: 'CapabilityBoundingSet', want: 'CAP_NET_BIND_SERVICE' },
    { attack: 'ACME HTTP-01 on port 80 cannot bind', over: { ports: [11443, 80] }, key: 'AmbientCapabilities', want: 'CAP_NET_BIND_SERVICE' },
    { attack: 'a raw or netlink socket is opened', key: 'RestrictAddressFamilies', want: 'AF_INET AF_INET6 AF_UNIX' },
    { attack: 'a privileged syscall (mount, chown, reboot) is made', key: 'SystemCallFilter', want: '~@privileged @resources' },
    { attack: 'a user-scope unit claims another account', over: { scope: 'user' }, key: 'User', want: undefined },
    { attack: 'a user-scope unit is started at boot for everyone', over: { scope: 'user' }, key: 'WantedBy', want: 'default.target' },
    { attack: 'a home-dir install is hidden by ProtectHome=yes', over: { dataDir: '/home/ana/.local/share/warden' }, key: 'ProtectHome', want: 'read-only' },
    { attack: 'other users\' home dirs are readable', key: 'ProtectHome', want: 'yes' },
  ];
  for (const c of cases) {
    void test(c.attack, () => {
      const got = one(systemdUnit(spec(c.over)), c.key);
      assert.equal(got, c.want, `${c.key}: got ${JSON.stringify(got)}, want ${JSON.stringify(c.want)}`);
    });
  }
});

void describe('systemd unit: paths', () => {
  void test('ExecStart quotes every word so spaces, %, $ and ü survive', () => {
    const exec = one(systemdUnit(spec()), 'ExecStart')!;
    assert.ok(exec.includes('"--data-dir"'));
    assert.ok(exec.includes('dätä dir 100%% $$HOME'), exec);
    assert.equal(one(systemdUnit(spec()), 'WorkingDirectory'), dataDir.replace('%', '%%'));
  });

  void test('a newline in the data dir cannot inject a directive', () => {
    assert.throws(() => systemdUnit(spec({ dataDir: '/var/lib/warden\nExecStartPre=/bin/sh -c evil' })), /control character/);
  });

  void test('relative paths are refused (systemd would reject the unit at boot)', () => {
    assert.throws(() => systemdUnit(spec({ execPath: 'node' })), /absolute/);
  });

  void test('system units go to /etc/systemd/system, user units to ~/.config/systemd/user', () => {
    assert.equal(systemdUnitPath({ scope: 'system', name: 'warden' }, '/root'), '/etc/systemd/system/warden.service');
    assert.equal(systemdUnitPath({ scope: 'user', name: 'warden' }, '/home/ü s'), '/home/ü s/.config/systemd/user/warden.service');
  });
});

void describe('systemd unit: systemd itself accepts it', () => {
  const available = hasSystemdAnalyze();
  for (const [label, over] of [
    ['system unit on 11443', {}],
    ['system unit on 443', { ports: [443] }],
    ['user unit', { scope: 'user' as const }],
  ] as Array<[string, Partial<ServiceSpec>]>) {
    void test(`systemd-analyze verify: ${label}`, { skip: !available && 'systemd-analyze not installed (apt-get install -y systemd)' }, () => {
      // verify runs as root here, so User= must name an account that exists on this machine.
      const file = join(tmp, `warden-${label.replace(/\W+/g, '-')}.service`);
      writeFileSync(file, systemdUnit(spec({ user: 'root', ...over })));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      // Unknown or malformed directives are only warnings (exit 0), so any line about our
      // file counts as a failure.
      const ours = r.stderr.split('\n').filter((l) => l.includes(file) || l.includes('warden-'));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(ours, [], `systemd-analyze complained:\n${ours.join('\n')}`);
    });
  }

  void test('offline security audit rates the system unit "OK" (exposure < 3.0)', { skip: !available && 'systemd-analyze not installed' }, () => {
    const file = join(tmp, 'warden-audit.service');
    writeFileSync(file, systemdUnit(spec({ user: 'warden' })));
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=29', file], { encoding: 'utf8' });
    const m = /exposure level for [^:]+: ([\d.]+)/.exec(r.stdout);
    assert.ok(m, `no exposure level in:\n${r.stdout}\n${r.stderr}`);
    assert.ok(Number(m[1]) < 3, `exposure ${m[1]}, want < 3.0`);
    assert.equal(r.status, 0, r.stderr);
  });
});
