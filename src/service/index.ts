// `warden service install|uninstall|status`: works out the service definition for this
// platform (or the injected one), then writes it and asks the service manager to load it.
// Everything that touches the machine goes through `run` and node:fs, so tests inject a
// platform, a scratch directory and a recording runner.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardenError, ErrorCode, usageError } from '../errors.ts';
import { darwinCreateUserCommands } from './launchd.ts';
import { definitionPath, describeStep, planInstall, planUninstall, statusCommand, type PlanContext, type ServiceStep } from './plan.ts';
import { DEFAULT_SERVICE_NAME, DEFAULT_SERVICE_USER, type ServiceScope, type ServiceSpec } from './spec.ts';

export type { ServiceStep } from './plan.ts';
export type { ServiceScope, ServiceSpec } from './spec.ts';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}
export type CommandRunner = (cmd: string, args: string[]) => RunResult;

export const spawnRunner: CommandRunner = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return { status: null, stdout: '', stderr: `${cmd}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

export interface ServiceOptions {
  platform?: NodeJS.Platform;
  /** Print the steps instead of carrying them out. */
  dryRun?: boolean;
  dataDir: string;
  /** Default: system when running as root/Administrator, else user. */
  scope?: ServiceScope;
  name?: string;
  /** Service account. Default "warden" (Linux), "_warden" (macOS). */
  user?: string;
  /** Node binary. Default: the one running now. */
  execPath?: string;
  /** Warden's CLI entry. Default: the main.js beside this module. */
  scriptPath?: string;
  /** Ports the config binds (listener, ACME HTTP-01). */
  ports?: number[];
  home?: string;
  uid?: number;
  winswPath?: string;
  serviceDir?: string;
  run?: CommandRunner;
  print?: (text: string) => void;
}

/** The CLI entry next to this module: main.js in the build, main.ts when run from source. */
export function defaultScriptPath(moduleUrl: string = import.meta.url): string {
  const ext = moduleUrl.endsWith('.ts') ? '.ts' : '.js';
  return resolve(dirname(fileURLToPath(moduleUrl)), '..', 'cli', `main${ext}`);
}

export function isPrivileged(platform: NodeJS.Platform = process.platform, run: CommandRunner = spawnRunner): boolean {
  if (platform === 'win32') return run('net', ['session']).status === 0; // succeeds only when elevated
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function resolveContext(opts: ServiceOptions): PlanContext {
  const platform = opts.platform ?? process.platform;
  const run = opts.run ?? spawnRunner;
  const scope = opts.scope ?? (isPrivileged(platform, run) ? 'system' : 'user');
  const spec: ServiceSpec = {
    platform,
    scope,
    name: opts.name ?? DEFAULT_SERVICE_NAME,
    execPath: opts.execPath ?? process.execPath,
    scriptPath: opts.scriptPath ?? defaultScriptPath(),
    dataDir: opts.dataDir,
    user: opts.user ?? (platform === 'darwin' ? `_${DEFAULT_SERVICE_USER}` : DEFAULT_SERVICE_USER),
    ports: opts.ports ?? [],
  };
  return {
    spec,
    home: opts.home ?? homedir(),
    uid: opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : userInfo().uid),
    ...(opts.winswPath ? { winswPath: opts.winswPath } : {}),
    ...(opts.serviceDir ? { serviceDir: opts.serviceDir } : {}),
  };
}

function failed(step: ServiceStep, detail: string): WardenError {
  return new WardenError(ErrorCode.INTERNAL, `service: ${describeStep(step).split('\n')[0]} failed: ${detail.trim()}`);
}

/** macOS: a free uid/gid below 500 (hidden from the login window), from the top down. */
function freeDarwinId(run: CommandRunner): number {
  const used = new Set<number>();
  for (const kind of ['/Users', '/Groups']) {
    const r = run('dscl', ['.', '-list', kind, kind === '/Users' ? 'UniqueID' : 'PrimaryGroupID']);
    for (const line of r.stdout.split('\n')) {
      const n = Number(line.trim().split(/\s+/).pop());
      if (Number.isInteger(n)) used.add(n);
    }
  }
  for (let id = 499; id >= 300; id--) if (!used.has(id)) return id;
  throw new WardenError(ErrorCode.INTERNAL, 'service: no free system uid between 300 and 499');
}

function ensureUser(step: Extract<ServiceStep, { kind: 'ensure-user' }>, platform: NodeJS.Platform, run: CommandRunner): void {
  if (run('id', ['-u', step.user]).status === 0) return;
  const cmds: Array<[string, string[]]> =
    platform === 'darwin'
      ? darwinCreateUserCommands(step.user, freeDarwinId(run), step.home)
      : [['useradd', ['--system', '--user-group', '--home-dir', step.home, '--no-create-home', '--shell', '/usr/sbin/nologin', step.user]]];
  for (const [cmd, args] of cmds) {
    const r = run(cmd, args);
    if (r.status !== 0) throw failed(step, r.stderr || `${cmd} exited ${r.status}`);
  }
}

export function executeSteps(steps: ServiceStep[], platform: NodeJS.Platform, run: CommandRunner): void {
  for (const step of steps) {
    switch (step.kind) {
      case 'mkdir':
        mkdirSync(step.path, { recursive: true, mode: step.mode });
        break;
      case 'write':
        writeFileSync(step.path, step.content, { mode: step.mode });
        chmodSync(step.path, step.mode); // an existing file keeps its old mode otherwise
        break;
      case 'copy':
        copyFileSync(step.from, step.to);
        break;
      case 'remove':
        rmSync(step.path, { force: true });
        break;
      case 'ensure-user':
        ensureUser(step, platform, run);
        break;
      case 'run': {
        const r = run(step.cmd, step.args);
        if (r.status !== 0 && !step.optional) throw failed(step, r.stderr || r.stdout || `exit ${r.status}`);
        break;
      }
    }
  }
}

function carryOut(steps: ServiceStep[], opts: ServiceOptions, ctx: PlanContext): ServiceStep[] {
  const print = opts.print ?? ((t: string) => process.stdout.write(t + '\n'));
  if (opts.dryRun) {
    print(`# dry run: ${ctx.spec.scope} service on ${ctx.spec.platform}; nothing is changed`);
    for (const s of steps) print(describeStep(s));
    return steps;
  }
  // Paths of the other family would be created literally (a folder named "C:\\ProgramData…").
  if ((ctx.spec.platform === 'win32') !== (process.platform === 'win32')) {
    throw usageError(`service: cannot install a ${ctx.spec.platform} service from ${process.platform}; --dry-run shows it`);
  }
  executeSteps(steps, ctx.spec.platform, opts.run ?? spawnRunner);
  return steps;
}

export function serviceInstall(opts: ServiceOptions): ServiceStep[] {
  const ctx = resolveContext(opts);
  return carryOut(planInstall(ctx), opts, ctx);
}

export function serviceUninstall(opts: ServiceOptions): ServiceStep[] {
  const ctx = resolveContext(opts);
  return carryOut(planUninstall(ctx), opts, ctx);
}

export interface ServiceStatus {
  platform: NodeJS.Platform;
  scope: ServiceScope;
  name: string;
  definition: string;
  installed: boolean;
  running: boolean;
  /** What the service manager said, first line. */
  detail: string;
}

export function serviceStatus(opts: ServiceOptions): ServiceStatus {
  const ctx = resolveContext(opts);
  const { platform, scope, name } = ctx.spec;
  const run = opts.run ?? spawnRunner;
  const [cmd, args] = statusCommand(ctx);
  // On Windows the service manager is the source of truth (the XML path needs --service-dir).
  const definition = platform === 'win32' && !ctx.serviceDir ? `service ${name}` : definitionPath(ctx);
  const r = platform === 'win32' || existsSync(definition) ? run(cmd, args) : null;
  if (r === null) return { platform, scope, name, definition, installed: false, running: false, detail: 'not installed' };
  const detail = (r.stdout.trim() || r.stderr.trim()).split('\n')[0] ?? '';
  if (platform === 'win32') {
    // sc.exe query exits 1060 for an unknown service and 0 for a stopped one.
    const installed = r.status === 0;
    return { platform, scope, name, definition, installed, running: installed && /\bRUNNING\b/.test(r.stdout), detail };
  }
  return { platform, scope, name, definition, installed: true, running: r.status === 0, detail };
}
