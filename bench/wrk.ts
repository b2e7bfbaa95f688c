// Runs wrk (https://github.com/wg/wrk, Debian package `wrk`) pinned to a core, with one of the
// Lua scripts in bench/lua/ plus lua/common.lua, whose done() prints a JSON line we parse instead
// of wrk's human-readable table.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LUA_DIR = join(import.meta.dirname, 'lua');

export interface WrkOptions {
  url: string;
  /** File name in bench/lua/, e.g. 'tags.lua'. */
  script: string;
  connections: number;
  durationSeconds: number;
  /** CPU to pin wrk to (taskset -c). */
  cpu: number;
  /** Extra environment for the Lua script (BENCH_AUTH, BENCH_FLOOD_KEYS…). */
  env?: Record<string, string>;
  /** wrk's per-request timeout; slow streams take ~2.5 s. Default 10 s. */
  timeoutSeconds?: number;
}

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  /** Answers with a status outside 2xx/3xx. */
  statusErrors: number;
  timeouts: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  /** requests / duration */
  rps: number;
}

let scriptDir: string | null = null;

/** wrk takes one script: write workload + common.lua to a temp file once per script name. */
function scriptPath(name: string): string {
  if (scriptDir === null) {
    const dir = mkdtempSync(join(tmpdir(), 'warden-bench-lua-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scriptDir = dir;
  }
  const out = join(scriptDir, name);
  writeFileSync(out, readFileSync(join(LUA_DIR, name), 'utf8') + '\n' + readFileSync(join(LUA_DIR, 'common.lua'), 'utf8'));
  return out;
}

export function wrkInstalled(): boolean {
  return spawnSync('wrk', ['-v'], { stdio: 'ignore' }).error === undefined;
}

export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no BENCH_JSON line:\n${stdout.slice(-2000)}`);
  const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Omit<WrkResult, 'rps'>;
  return { ...r, rps: r.durationUs > 0 ? r.requests / (r.durationUs / 1e6) : 0 };
}

/** Starts wrk; the promise settles when it exits. `child.pid` is available at once. */
export function runWrk(opts: WrkOptions): { pid: number | undefined; result: Promise<WrkResult> } {
  const args = [
    '-c',
    String(opts.cpu),
    'wrk',
    '-t1',
    `-c${opts.connections}`,
    `-d${opts.durationSeconds}s`,
    `--timeout`,
    `${opts.timeoutSeconds ?? 10}s`,
    '--latency',
    '-s',
    scriptPath(opts.script),
    opts.url,
  ];
  const child = spawn('taskset', args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const result = new Promise<WrkResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${err || out}`));
      try {
        resolve(parseWrkOutput(out));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return { pid: child.pid, result };
}
