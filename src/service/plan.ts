// What `warden service install|uninstall` does, as a list of steps worked out before anything
// is touched: the same list is printed by --dry-run and carried out otherwise, so the dry run
// never lies. Pure: platform, paths and account come in, steps go out.
import { posix, win32 } from 'node:path';
import { systemdInstallCommands, systemdUninstallCommands, systemdUnit, systemdUnitPath, systemdDaemonReload } from './systemd.ts';
import { launchdInstallCommands, launchdPlist, launchdPlistPath, launchdUninstallCommands } from './launchd.ts';
import { windowsInstallCommands, windowsServiceFiles, windowsServiceXml, windowsUninstallCommands } from './windows.ts';
import { LAUNCHD_LABEL, validateSpec, type ServiceSpec } from './spec.ts';
import { usageError } from '../errors.ts';

export type ServiceStep =
  | { kind: 'mkdir'; path: string; mode: number }
  | { kind: 'write'; path: string; content: string; mode: number }
  | { kind: 'copy'; from: string; to: string }
  | { kind: 'remove'; path: string }
  /** Create the service account unless it exists (useradd on Linux, dscl on macOS). */
  | { kind: 'ensure-user'; user: string; home: string }
  | { kind: 'run'; cmd: string; args: string[]; /** failure is expected (e.g. stopping a stopped service) */ optional?: boolean };

export interface PlanContext {
  spec: ServiceSpec;
  /** Home directory of the invoking user (user-scope definitions live there). */
  home: string;
  /** Numeric uid of the invoking user (launchd's gui/<uid> domain). */
  uid: number;
  /** Windows: WinSW executable to copy (from the node-windows npm package). */
  winswPath?: string;
  /** Windows: directory for the service host and its XML. */
  serviceDir?: string;
}

export function definitionPath(ctx: PlanContext): string {
  const { spec } = ctx;
  if (spec.platform === 'linux') return systemdUnitPath(spec, ctx.home);
  if (spec.platform === 'darwin') return launchdPlistPath(spec, ctx.home);
  if (spec.platform === 'win32') return windowsServiceFiles(spec, requireServiceDir(ctx)).xml;
  throw unsupported(spec.platform);
}

function unsupported(platform: string): Error {
  return usageError(`service: no service manager support for platform ${platform}; run \`warden serve\` under your own supervisor`);
}

function requireServiceDir(ctx: PlanContext): string {
  if (!ctx.serviceDir) throw usageError('service: on Windows --service-dir is required (the install.ps1 installer passes it)');
  return ctx.serviceDir;
}

const run = (pair: [string, string[]], optional = false): ServiceStep => ({ kind: 'run', cmd: pair[0], args: pair[1], ...(optional ? { optional } : {}) });

export function planInstall(ctx: PlanContext): ServiceStep[] {
  const spec = validateSpec(ctx.spec);
  const steps: ServiceStep[] = [];
  const system = spec.scope === 'system';
  if (spec.platform === 'linux' || spec.platform === 'darwin') {
    const unitPath = definitionPath(ctx);
    if (system) steps.push({ kind: 'ensure-user', user: spec.user, home: spec.dataDir });
    steps.push({ kind: 'mkdir', path: spec.dataDir, mode: 0o700 });
    // The account must own its data dir: init may have run as root before the account existed.
    if (system) steps.push(run(['chown', ['-R', `${spec.user}:${spec.user}`, spec.dataDir]]));
    steps.push({ kind: 'mkdir', path: posix.dirname(unitPath), mode: 0o755 });
    if (spec.platform === 'linux') {
      steps.push({ kind: 'write', path: unitPath, content: systemdUnit(spec), mode: 0o644 });
      steps.push(...systemdInstallCommands(spec).map((c) => run(c)));
    } else {
      // A loaded job must be booted out before its plist can be bootstrapped again (upgrade).
      steps.push(...launchdUninstallCommands(spec, ctx.uid).map((c) => run(c, true)));
      steps.push({ kind: 'write', path: unitPath, content: launchdPlist(spec), mode: 0o644 });
      steps.push(...launchdInstallCommands(spec, unitPath, ctx.uid).map((c) => run(c)));
    }
    return steps;
  }
  if (spec.platform === 'win32') {
    if (!system) throw usageError('service: a Windows service is machine-wide; run from an elevated (Administrator) prompt');
    if (!ctx.winswPath) throw usageError('service: --winsw is required on Windows: the WinSW host from the node-windows npm package (install.ps1 passes it)');
    const files = windowsServiceFiles(spec, requireServiceDir(ctx));
    steps.push({ kind: 'mkdir', path: spec.dataDir, mode: 0o700 });
    steps.push({ kind: 'mkdir', path: win32.dirname(files.exe), mode: 0o755 });
    // Re-registering over an existing service fails, so an upgrade removes it first.
    steps.push(...windowsUninstallCommands(spec, files).map((c) => run(c, true)));
    steps.push({ kind: 'copy', from: ctx.winswPath, to: files.exe });
    steps.push({ kind: 'write', path: files.xml, content: windowsServiceXml(spec), mode: 0o644 });
    steps.push(...windowsInstallCommands(spec, files).map((c) => run(c)));
    return steps;
  }
  throw unsupported(spec.platform);
}

/** Removes the definition and stops the service. The data directory is never touched. */
export function planUninstall(ctx: PlanContext): ServiceStep[] {
  const { spec } = ctx;
  if (spec.platform === 'linux') {
    return [
      ...systemdUninstallCommands(spec).map((c) => run(c, true)),
      { kind: 'remove', path: systemdUnitPath(spec, ctx.home) },
      run(systemdDaemonReload(spec), true),
    ];
  }
  if (spec.platform === 'darwin') {
    return [...launchdUninstallCommands(spec, ctx.uid).map((c) => run(c, true)), { kind: 'remove', path: launchdPlistPath(spec, ctx.home) }];
  }
  if (spec.platform === 'win32') {
    const files = windowsServiceFiles(spec, requireServiceDir(ctx));
    return [
      ...windowsUninstallCommands(spec, files).map((c) => run(c, true)),
      { kind: 'remove', path: files.xml },
      { kind: 'remove', path: files.exe },
    ];
  }
  throw unsupported(spec.platform);
}

/** The command that reports whether the service runs: exit 0 = running. */
export function statusCommand(ctx: PlanContext): [string, string[]] {
  const { spec } = ctx;
  if (spec.platform === 'linux') return ['systemctl', [...(spec.scope === 'system' ? [] : ['--user']), 'is-active', `${spec.name}.service`]];
  if (spec.platform === 'darwin') {
    const domain = spec.scope === 'system' ? 'system' : `gui/${ctx.uid}`;
    return ['launchctl', ['print', `${domain}/${LAUNCHD_LABEL}`]];
  }
  if (spec.platform === 'win32') return ['sc.exe', ['query', spec.name]];
  throw unsupported(spec.platform);
}

/** POSIX-shell quoting for printing a step (dry run); exact enough to paste. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function describeStep(step: ServiceStep): string {
  switch (step.kind) {
    case 'mkdir':
      return `mkdir -p -m ${step.mode.toString(8)} ${shellQuote(step.path)}`;
    case 'write':
      return `write ${shellQuote(step.path)} (mode ${step.mode.toString(8)}):\n${step.content}`;
    case 'copy':
      return `copy ${shellQuote(step.from)} ${shellQuote(step.to)}`;
    case 'remove':
      return `rm -f ${shellQuote(step.path)}`;
    case 'ensure-user':
      return `create system account ${shellQuote(step.user)} (home ${shellQuote(step.home)}) unless it exists`;
    case 'run':
      return [step.cmd, ...step.args].map(shellQuote).join(' ') + (step.optional ? '   # may fail harmlessly' : '');
  }
}
