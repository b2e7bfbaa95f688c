// Starting and stopping the systems under test, each the same way: the program is exec'd by
// `taskset -c <cpu>` so it (and every thread and child it makes) runs on one core, and it is
// measured as a process tree from /proc.
//
//   direct  — wrk talks plain HTTP to the fake Ollama (the ceiling: no proxy at all)
//   warden  — `warden serve` from dist/ with its defaults (audit on)
//   nginx   — bench/nginx.conf.template
//   caddy   — bench/Caddyfile.template
//   node    — bench/plain-node.ts: node:https + undici and nothing else (the floor for a Node proxy)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree } from './proc.ts';

/** warden-compare: a second Warden build (`--compare <entry>`), measured beside `warden` for A/B
 *  runs; warden-xff-compare the same build as warden-xff (e-dist). */
export type SystemName = 'direct' | 'warden' | 'warden-compare' | 'warden-xff' | 'warden-xff-compare' | 'nginx' | 'caddy' | 'node';

export interface RunningSystem {
  name: SystemName;
  /** Base URL over IPv4 loopback, e.g. https://127.0.0.1:PORT */
  url: string;
  /** The same listener over ::1 (the flood in workload (e) comes from the other address). */
  url6: string;
  /** Root pid (the process taskset exec'd). */
  pid: number;
  /** The process tree to measure; refreshed because nginx forks its worker after start. */
  pids(): number[];
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function pinned(cpu: number, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn('taskset', ['-c', String(cpu), cmd, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves with the first output line matching `re`; rejects when the process exits first or after `ms`. */
function waitForLine(child: ChildProcess, re: RegExp, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => finish(new Error(`${what}: no "${re.source}" within ${ms} ms; output:\n${seen.slice(-3000)}`)), ms);
    const onData = (d: Buffer): void => {
      seen += d.toString('utf8');
      const line = seen.split('\n').find((l) => re.test(l));
      if (line !== undefined) finish(null, line);
    };
    const onExit = (code: number | null): void => finish(new Error(`${what} exited (${code}) before it was ready; output:\n${seen.slice(-3000)}`));
    function finish(err: Error | null, line?: string): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line as string);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Polls until `host:port` accepts a TCP connection; fails at once if `child` exits, showing its output and `logFile`. */
async function waitForPort(child: ChildProcess, port: number, host: string, ms: number, what: string, logFile?: string): Promise<void> {
  const deadline = Date.now() + ms;
  let output = '';
  const collect = (d: Buffer): void => {
    output += d.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const explain = (): string => {
    let log = '';
    try {
      if (logFile) log = readFileSync(logFile, 'utf8');
    } catch {
      // no log written yet
    }
    return `${output}${log}`.slice(-3000);
  };
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it listened:\n${explain()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) {
      child.stdout?.off('data', collect);
      child.stderr?.off('data', collect);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${host}:${port} within ${ms} ms:\n${explain()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

function drain(child: ChildProcess): void {
  // keep reading so a chatty child never blocks on a full pipe
  child.stdout?.resume();
  child.stderr?.resume();
}

/** Waits for `ready` (the child listening); if it fails, kills the child and removes its dir. */
async function cleanUpUnless<T>(child: ChildProcess, dir: string, ready: Promise<T>): Promise<T> {
  try {
    return await ready;
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A started child as a RunningSystem whose stop (with `signal`) also removes its dir. */
function runningIn(name: SystemName, child: ChildProcess, dir: string, port: number, signal?: NodeJS.Signals): RunningSystem {
  drain(child);
  return running(name, child, port, 'https', async () => {
    await stopChild(child, signal);
    rmSync(dir, { recursive: true, force: true });
  });
}

function running(name: SystemName, child: ChildProcess, port: number, scheme: string, stop: () => Promise<void>): RunningSystem {
  const pid = child.pid as number;
  let tree = processTree(pid);
  return {
    name,
    url: `${scheme}://127.0.0.1:${port}`,
    url6: `${scheme}://[::1]:${port}`,
    pid,
    pids() {
      tree = processTree(pid);
      return tree;
    },
    stop,
  };
}

// ---- the fake Ollama upstream ----

export async function startUpstream(cpu: number): Promise<RunningSystem> {
  const child = pinned(cpu, NODE, [join(import.meta.dirname, 'upstream.ts'), '50']);
  const line = await waitForLine(child, /^\{"port":\d+\}/, 15_000, 'fake Ollama');
  drain(child);
  const { port } = JSON.parse(line) as { port: number };
  // The fake listens on 127.0.0.1 only, so url6 is the same address.
  const sys = running('direct', child, port, 'http', () => stopChild(child));
  return { ...sys, url6: sys.url };
}

// ---- Warden ----

export interface WardenOptions {
  cpu: number;
  upstreamPort: number;
  /** Extra WARDEN_* settings (the documented deviations from the defaults). */
  env?: Record<string, string>;
  /** Write a V8 CPU profile here when Warden exits (node --cpu-prof). */
  cpuProfDir?: string;
  /** Entry script. Default dist/src/cli/main.js (what `npm run build` makes and users run). */
  entry?: string;
  name?: SystemName;
}

export interface RunningWarden extends RunningSystem {
  dataDir: string;
  /** A valid `inference` + `models:read` key from `warden keys create`. Never printed. */
  key: string;
  certFile: string;
  keyFile: string;
}

export const DEFAULT_WARDEN_ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function cli(entry: string, dataDir: string, args: string[]): string {
  const r = spawnSync(NODE, [entry, '--data-dir', dataDir, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`warden ${args[0]} failed (${r.status}): ${r.stderr.replace(/owk_[A-Za-z0-9_]+/g, 'owk_…')}`);
  return r.stdout;
}

export async function startWarden(o: WardenOptions): Promise<RunningWarden> {
  const entry = o.entry ?? DEFAULT_WARDEN_ENTRY;
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const port = await freePort();
  // [::] is dual-stack: 127.0.0.1 and ::1 reach the same listener (two client addresses for (e)).
  cli(entry, dataDir, ['init', '--yes', '--listen', `[::]:${port}`, '--upstream', `http://127.0.0.1:${o.upstreamPort}`]);
  const created = JSON.parse(cli(entry, dataDir, ['keys', 'create', '--name', 'bench', '--json'])) as { key: string };
  const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  const child = pinned(o.cpu, NODE, [...nodeArgs, entry, '--data-dir', dataDir, 'serve'], { ...process.env, ...o.env });
  await cleanUpUnless(child, dataDir, waitForLine(child, /listening on https:\/\//, 30_000, 'warden serve'));
  const sys = runningIn(o.name ?? 'warden', child, dataDir, port);
  return { ...sys, dataDir, key: created.key, certFile: join(dataDir, 'tls', 'server.pem'), keyFile: join(dataDir, 'tls', 'server-key.pem') };
}

// ---- nginx and Caddy ----

export interface ProxyOptions {
  cpu: number;
  upstreamPort: number;
  /** The exact Authorization header value to accept ("Bearer owk_…"). */
  auth: string;
  certFile: string;
  keyFile: string;
}

function fill(template: string, fields: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => {
    const v = fields[k];
    if (v === undefined) throw new Error(`template field {{${k}}} has no value`);
    return v;
  });
}

/** Fills bench/`template` for this proxy and writes it to `dir`/`name` (0600); returns that path. */
function writeConfig(template: string, dir: string, name: string, port: number, o: ProxyOptions): string {
  const conf = fill(readFileSync(join(import.meta.dirname, template), 'utf8'), {
    DIR: dir,
    PORT: String(port),
    UPSTREAM_PORT: String(o.upstreamPort),
    AUTH: o.auth,
    CERT: o.certFile,
    KEY: o.keyFile,
  });
  const file = join(dir, name);
  writeFileSync(file, conf, { mode: 0o600 });
  return file;
}

export async function startNginx(o: ProxyOptions): Promise<RunningSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-nginx-'));
  // workers run as `nobody` and only need to reach the temp paths; certs are read by the master
  chmodSync(dir, 0o755);
  const port = await freePort();
  const file = writeConfig('nginx.conf.template', dir, 'nginx.conf', port, o);
  const child = pinned(o.cpu, 'nginx', ['-p', dir, '-c', file, '-e', join(dir, 'error.log')]);
  await cleanUpUnless(child, dir, waitForPort(child, port, '127.0.0.1', 15_000, 'nginx', join(dir, 'error.log')));
  // SIGQUIT: graceful stop (SIGTERM would be fast stop; either ends the worker too)
  return runningIn('nginx', child, dir, port, 'SIGQUIT');
}

export async function startCaddy(o: ProxyOptions): Promise<RunningSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-caddy-'));
  mkdirSync(join(dir, 'data'));
  const port = await freePort();
  const file = writeConfig('Caddyfile.template', dir, 'Caddyfile', port, o);
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  const child = pinned(o.cpu, 'caddy', ['run', '--config', file, '--adapter', 'caddyfile'], env);
  await cleanUpUnless(child, dir, waitForPort(child, port, '127.0.0.1', 15_000, 'caddy'));
  return runningIn('caddy', child, dir, port);
}

/** The plain Node proxy (bench/plain-node.ts) with the same certificate, key check and pinning. */
export async function startPlainNode(o: ProxyOptions): Promise<RunningSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-node-'));
  const child = pinned(o.cpu, NODE, [join(import.meta.dirname, 'plain-node.ts'), o.certFile, o.keyFile, String(o.upstreamPort), join(dir, 'access.log')], {
    ...process.env,
    BENCH_PROXY_AUTH: o.auth,
  });
  const line = await cleanUpUnless(child, dir, waitForLine(child, /^\{"port":\d+\}/, 15_000, 'plain Node proxy'));
  const { port } = JSON.parse(line) as { port: number };
  return runningIn('node', child, dir, port);
}
