// Runs the real `warden` CLI (the built dist/, as a user would) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { Agent, request, type Dispatcher } from 'undici';
import { startFakeOllama, type FakeOllama, type FakeOllamaOptions } from './fake-ollama.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the tests`);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A clean environment: no WARDEN_* from the caller leaks into a test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // A CI runner that itself runs as a systemd service passes INVOCATION_ID/JOURNAL_STREAM on.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WARDEN_') && k !== 'INVOCATION_ID' && k !== 'JOURNAL_STREAM') env[k] = v;
  return { ...env, WARDEN_LOG_LEVEL: 'info', ...extra };
}

export function runCli(args: string[], opts: { dataDir?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const full = opts.dataDir ? ['--data-dir', opts.dataDir, ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...full], { env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`warden ${full.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function tempDir(prefix = 'warden-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface RunningWarden {
  url: string;
  port: number;
  dataDir: string;
  adminKey: string;
  caPem: string;
  /** undici dispatcher that trusts the local CA */
  dispatcher: Agent;
  proc: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  upstream: string;
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** extra arguments for `warden init` */
  initArgs?: string[];
  /** do not run init: `serve` initialises the empty data dir itself */
  skipInit?: boolean;
}

/** init --yes (captures the admin key), then serve on 127.0.0.1:0 until "listening on". */
export async function startWarden(o: StartOptions): Promise<RunningWarden> {
  const dataDir = o.dataDir ?? tempDir();
  let adminKey = '';
  if (!o.skipInit && !existsSync(join(dataDir, 'warden.yaml'))) {
    const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', o.upstream, ...(o.initArgs ?? [])], { dataDir, env: o.env });
    if (init.code !== 0) throw new Error(`init failed (${init.code}): ${init.stderr}${init.stdout}`);
    adminKey = /owk_[A-Za-z0-9_]+/.exec(init.stdout)?.[0] ?? '';
  }
  const proc = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'serve', ...(o.args ?? [])], { env: cleanEnv(o.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warden serve did not start:\n${out}`)), 30_000);
    const onData = (): void => {
      const m = /listening on (https?:\/\/[^\s"]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden serve exited with ${code}:\n${out}`));
    });
  });
  adminKey ||= /owk_[A-Za-z0-9_]+/.exec(out)?.[0] ?? '';
  const caFile = join(dataDir, 'tls', 'ca.pem');
  const caPem = existsSync(caFile) ? readFileSync(caFile, 'utf8') : '';
  const dispatcher = new Agent({ connect: caPem ? { ca: caPem } : {} });
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    adminKey,
    caPem,
    dispatcher,
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await dispatcher.close().catch(() => undefined);
      if (proc.exitCode !== null) return proc.exitCode;
      const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface WardenFixtureOptions<K extends string = never> extends Omit<StartOptions, 'upstream'> {
  /** The fake Ollama behind the Warden (default: startFakeOllama's defaults). */
  ollama?: FakeOllamaOptions;
  /** More Wardens in front of the same fake Ollama, by name (e.g. one with a policy opened up). */
  also?: Record<K, Omit<StartOptions, 'upstream'>>;
  /** Further set-up once all of it runs (keys, files), in the same hook: see withWarden. */
  afterStart?: (fx: WardenFixture<K>) => Promise<void>;
}

/** A fake Ollama and a `warden serve` in front of it, shared by the tests of a file or suite. */
export interface WardenFixture<K extends string = never> {
  readonly fake: FakeOllama;
  readonly w: RunningWarden;
  /** The `also` Wardens, by name. */
  readonly also: Readonly<Record<K, RunningWarden>>;
}

/**
 * The set-up most end-to-end tests share: starts a fake Ollama and a Warden in front of it (and
 * the `also` ones, side by side) in a before() hook of the current suite (the file, or the
 * describe() it is called in), and stops them all and removes their data dirs in an after() hook.
 * The handles are there from the hook on: read them inside tests and describe()s' hooks, not at
 * the top of the file. Node runs a file's top-level before() hooks without waiting for each
 * other, so set-up that needs the servers goes in `afterStart`, not in a second top-level before().
 */
export function withWarden<K extends string = never>(o: WardenFixtureOptions<K> = {}): WardenFixture<K> {
  const { ollama, also = {} as Record<K, Omit<StartOptions, 'upstream'>>, afterStart, ...start } = o;
  const names = Object.keys(also) as K[];
  let fake: FakeOllama | undefined;
  let w: RunningWarden | undefined;
  const more = new Map<K, RunningWarden>();
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`withWarden: ${what} is not running (read it inside a test or a later hook)`);
    return v;
  };
  const fx: WardenFixture<K> = {
    get fake() {
      return ready(fake, 'the fake Ollama');
    },
    get w() {
      return ready(w, 'the Warden');
    },
    get also() {
      return Object.fromEntries(names.map((n) => [n, ready(more.get(n), `the Warden "${n}"`)])) as Record<K, RunningWarden>;
    },
  };
  before(async () => {
    const f = await startFakeOllama(ollama);
    fake = f;
    const started = await Promise.allSettled([start, ...names.map((n) => also[n])].map((s) => startWarden({ ...s, upstream: f.url })));
    started.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      if (i === 0) w = r.value;
      else more.set(names[i - 1]!, r.value);
    });
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await afterStart?.(fx);
  });
  after(async () => {
    const all = [w, ...more.values()].filter((x) => x !== undefined);
    await Promise.all(all.map((x) => x.stop()));
    await fake?.close();
    for (const x of all) removeDir(x.dataDir);
  });
  return fx;
}

/** Starts a generation through `w` with `key`: a stream as long as the fake Ollama was told to
 *  make it (its chunks and delay), for tests that cut it. The answer's body is left unread. */
export function startGeneration(w: RunningWarden, key: string): Promise<Dispatcher.ResponseData> {
  return request(`${w.url}/api/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'llama3.2', prompt: 'a long story' }),
    dispatcher: w.dispatcher,
  });
}

/** Waits until a key created from the CLI is accepted by the running server (it polls the store every 250 ms). */
export async function waitForKey(w: RunningWarden, key: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await request(`${w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: w.dispatcher });
    await res.body.text();
    if (res.statusCode !== 401) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`key not accepted by the server within ${timeoutMs} ms`);
}
