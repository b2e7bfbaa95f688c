// `warden service install|uninstall|status` with the platform injected: definitions are really
// written (into a scratch home), the service-manager commands go to a recording runner, and a
// dry run changes nothing. The CLI wiring is driven through a real commander program.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { serviceInstall, serviceUninstall, serviceStatus, defaultScriptPath, resolveContext, type CommandRunner } from '../../src/service/index.ts';
import { planInstall, describeStep } from '../../src/service/plan.ts';
import { registerServiceCommand } from '../../src/cli/commands/service.ts';
import { LAUNCHD_LABEL } from '../../src/service/spec.ts';

const root = mkdtempSync(join(tmpdir(), 'warden-service-'));
after(() => rmSync(root, { recursive: true, force: true }));

function recorder(answers: Record<string, { status: number; stdout?: string }> = {}): { run: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  const run: CommandRunner = (cmd, args) => {
    const line = [cmd, ...args].join(' ');
    calls.push(line);
    const hit = Object.entries(answers).find(([prefix]) => line.startsWith(prefix));
    return { status: hit ? hit[1].status : 0, stdout: hit?.[1].stdout ?? '', stderr: '' };
  };
  return { run, calls };
}

function fresh(name: string): { home: string; dataDir: string } {
  const home = join(root, name, 'home dir ü');
  const dataDir = join(root, name, 'data dïr');
  mkdirSync(home, { recursive: true });
  return { home, dataDir };
}

const base = { execPath: '/usr/bin/node', scriptPath: '/opt/warden/app/dist/src/cli/main.js', uid: 501, print: () => {} };

void describe('service install/uninstall per platform (platform injected)', () => {
  void test('linux user scope: writes the unit under ~/.config/systemd/user and enables it', () => {
    const { home, dataDir } = fresh('linux-user');
    const { run, calls } = recorder();
    serviceInstall({ ...base, platform: 'linux', scope: 'user', dataDir, home, run, ports: [11443] });
    const unit = join(home, '.config', 'systemd', 'user', 'warden.service');
    assert.match(readFileSync(unit, 'utf8'), /ExecStart="\/usr\/bin\/node"/);
    assert.equal(statSync(unit).mode & 0o777, 0o644);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'data dir must be private');
    // restart, not `enable --now`: a re-install after an upgrade must replace the running process
    assert.deepEqual(calls, ['systemctl --user daemon-reload', 'systemctl --user enable warden.service', 'systemctl --user restart warden.service']);
  });

  void test('linux uninstall removes the unit and keeps the data dir', () => {
    const { home, dataDir } = fresh('linux-uninstall');
    const { run, calls } = recorder({ 'systemctl --user disable': { status: 5 } });
    serviceInstall({ ...base, platform: 'linux', scope: 'user', dataDir, home, run });
    writeFileSync(join(dataDir, 'warden.db'), 'keys');
    serviceUninstall({ ...base, platform: 'linux', scope: 'user', dataDir, home, run });
    assert.equal(existsSync(join(home, '.config', 'systemd', 'user', 'warden.service')), false);
    assert.equal(readFileSync(join(dataDir, 'warden.db'), 'utf8'), 'keys');
    assert.ok(calls.includes('systemctl --user disable --now warden.service'), calls.join('\n'));
  });

  void test('macOS agent: boots out an old job before bootstrapping (re-install = upgrade)', () => {
    const { home, dataDir } = fresh('darwin-user');
    const { run, calls } = recorder({ 'launchctl bootout': { status: 3 } });
    serviceInstall({ ...base, platform: 'darwin', scope: 'user', dataDir, home, run });
    const plist = join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    assert.match(readFileSync(plist, 'utf8'), /<key>ProgramArguments<\/key>/);
    assert.deepEqual(calls, [
      `launchctl bootout gui/501/${LAUNCHD_LABEL}`,
      `launchctl bootstrap gui/501 ${plist}`,
      `launchctl enable gui/501/${LAUNCHD_LABEL}`,
      `launchctl kickstart -k gui/501/${LAUNCHD_LABEL}`,
    ]);
  });

  void test('windows: copies the WinSW host, registers, moves to the virtual account, locks the ACL, starts', () => {
    const ctx = resolveContext({ ...base, platform: 'win32', scope: 'system', execPath: 'C:\\node.exe', scriptPath: 'C:\\w\\main.js', dataDir: 'C:\\ProgramData\\warden', winswPath: 'C:\\rt\\winsw.exe', serviceDir: 'C:\\Program Files\\Warden\\service', run: recorder().run });
    const exe = 'C:\\Program Files\\Warden\\service\\warden-service.exe';
    const steps = planInstall(ctx).map((s) => (s.kind === 'write' ? `${s.kind} ${s.path}` : describeStep(s)));
    assert.deepEqual(steps, [
      "mkdir -p -m 700 'C:\\ProgramData\\warden'",
      "mkdir -p -m 755 'C:\\Program Files\\Warden\\service'",
      `'${exe}' stopwait   # may fail harmlessly`,
      `'${exe}' uninstall   # may fail harmlessly`,
      `copy 'C:\\rt\\winsw.exe' '${exe}'`,
      'write C:\\Program Files\\Warden\\service\\warden-service.xml',
      `'${exe}' install`,
      "sc.exe config warden obj= 'NT SERVICE\\warden'",
      "icacls 'C:\\ProgramData\\warden' /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' /grant:r '*S-1-5-32-544:(OI)(CI)F' /grant:r 'NT SERVICE\\warden:(OI)(CI)M'",
      'sc.exe start warden',
    ]);
  });

  void test('a Windows plan is never carried out on a POSIX host (it would create "C:\\…" folders here)', { skip: process.platform === 'win32' }, () => {
    assert.throws(
      () => serviceInstall({ ...base, platform: 'win32', scope: 'system', execPath: 'C:\\n.exe', scriptPath: 'C:\\m.js', dataDir: 'C:\\d', winswPath: 'C:\\w.exe', serviceDir: 'C:\\s', run: recorder().run }),
      /--dry-run shows it/,
    );
  });

  void test('windows without --winsw names what to install', () => {
    assert.throws(() => serviceInstall({ ...base, platform: 'win32', scope: 'system', execPath: 'C:\\n.exe', scriptPath: 'C:\\m.js', dataDir: 'C:\\d', serviceDir: 'C:\\s', run: recorder().run }), /node-windows/);
  });

  void test('an unsupported platform says how to run Warden instead', () => {
    assert.throws(() => serviceInstall({ ...base, platform: 'aix', scope: 'user', dataDir: '/d', run: recorder().run }), /warden serve/);
  });

  void test('a failing service manager command is an error that names the command', () => {
    const { home, dataDir } = fresh('linux-fail');
    const { run } = recorder({ 'systemctl --user restart': { status: 1 } });
    assert.throws(() => serviceInstall({ ...base, platform: 'linux', scope: 'user', dataDir, home, run }), /systemctl --user restart warden.service failed/);
  });

  void test('linux system scope creates the account when missing, then hands it the data dir', () => {
    const printed: string[] = [];
    serviceInstall({ ...base, platform: 'linux', scope: 'system', dataDir: '/var/lib/warden', dryRun: true, print: (t) => printed.push(t), run: recorder().run });
    const text = printed.join('\n');
    assert.match(text, /create system account warden/);
    assert.match(text, /chown -R warden:warden \/var\/lib\/warden/);
    assert.match(text, /write \/etc\/systemd\/system\/warden.service/);
  });
});

void describe('dry run', () => {
  void test('prints the definition and commands and changes nothing', () => {
    const { home, dataDir } = fresh('dry');
    const { run, calls } = recorder();
    const printed: string[] = [];
    serviceInstall({ ...base, platform: 'linux', scope: 'user', dataDir, home, run, dryRun: true, print: (t) => printed.push(t) });
    assert.deepEqual(calls, []);
    assert.equal(existsSync(dataDir), false);
    assert.deepEqual(readdirSync(home), []);
    assert.match(printed.join('\n'), /NoNewPrivileges=yes/);
    assert.match(printed.join('\n'), /systemctl --user restart warden.service/);
  });
});

void describe('status', () => {
  void test('not installed → installed=false without asking the manager', () => {
    const { home, dataDir } = fresh('status-none');
    const { run, calls } = recorder();
    const st = serviceStatus({ ...base, platform: 'linux', scope: 'user', dataDir, home, run });
    assert.equal(st.installed, false);
    assert.deepEqual(calls, []);
  });
  void test('installed and active', () => {
    const { home, dataDir } = fresh('status-on');
    const { run } = recorder({ 'systemctl --user is-active': { status: 0, stdout: 'active\n' } });
    serviceInstall({ ...base, platform: 'linux', scope: 'user', dataDir, home, run });
    assert.deepEqual(
      { ...serviceStatus({ ...base, platform: 'linux', scope: 'user', dataDir, home, run }), definition: '' },
      { platform: 'linux', scope: 'user', name: 'warden', definition: '', installed: true, running: true, detail: 'active' },
    );
  });
  void test('windows: sc.exe exit 0 with STATE STOPPED is installed but not running', () => {
    const { run } = recorder({ 'sc.exe query': { status: 0, stdout: 'SERVICE_NAME: warden\n        STATE              : 1  STOPPED\n' } });
    const st = serviceStatus({ ...base, platform: 'win32', scope: 'system', dataDir: 'C:\\d', run });
    assert.equal(st.installed, true);
    assert.equal(st.running, false);
  });
});

void describe('warden service (commander wiring)', () => {
  void test('install --dry-run reads the listen port from warden.yaml: 443 grants CAP_NET_BIND_SERVICE', async (t) => {
    const dataDir = join(root, 'cli data ü');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'warden.yaml'), 'listen: 0.0.0.0:443\n');
    const out: string[] = [];
    t.mock.method(process.stdout, 'write', (chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const program = new Command().exitOverride();
    registerServiceCommand(program);
    await program.parseAsync(['service', 'install', '--dry-run', '--scope', 'system', '--data-dir', dataDir], { from: 'user' });
    t.mock.restoreAll();
    const text = out.join('');
    assert.match(text, /AmbientCapabilities=CAP_NET_BIND_SERVICE/);
    assert.match(text, /ReadWritePaths=".*cli data ü"/);
    assert.equal(existsSync('/etc/systemd/system/warden.service') && readFileSync('/etc/systemd/system/warden.service', 'utf8').includes('cli data ü'), false);
  });

  void test('--scope other than system|user is a usage error', async () => {
    const program = new Command().exitOverride();
    registerServiceCommand(program);
    await assert.rejects(program.parseAsync(['service', 'uninstall', '--dry-run', '--scope', 'global', '--data-dir', root], { from: 'user' }), /--scope/);
  });

  void test('the default script path points at the CLI entry beside the service module', () => {
    assert.match(defaultScriptPath('file:///opt/w/app/dist/src/service/index.js'), /\/opt\/w\/app\/dist\/src\/cli\/main\.js$/);
    assert.match(defaultScriptPath('file:///repo/src/service/index.ts'), /\/repo\/src\/cli\/main\.ts$/);
  });
});
