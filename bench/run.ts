// `npm run bench` — Warden against no proxy, nginx and Caddy on the workloads of the benchmark
// issue. A benchmark, never part of the test suite's pass/fail.
//
//   node bench/run.ts                  3 repetitions × 5 s, all workloads (~8 minutes)
//   node bench/run.ts --quick          1 repetition × 3 s
//   node bench/run.ts --only a,b --systems warden,caddy --reps 1 --duration 5
//   node bench/run.ts --only b --systems warden --compare /tmp/base/dist/src/cli/main.js   A/B two builds
//   node bench/run.ts --only a,b,d --systems warden --compare-node-options='--max-semi-space-size=16'   A/B node flags
//   node bench/run.ts --cpu-prof [--only b]   profile Warden on workload (a) (or b, c, d): top self-time functions
//   node bench/run.ts --rss-pairs 4 --compare /tmp/base/dist/src/cli/main.js   RSS of two builds, fresh processes in pairs
//
// Layout on a 2-core machine: the system under test runs alone on core 1 (`taskset -c 1`); the
// load generator (wrk) and the fake Ollama share core 0. Every system gets the same treatment.
// Needs Linux (/proc, taskset) and wrk; nginx and Caddy are measured when installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKey } from '../src/auth/key-format.ts';
import type { ChunkLatency } from './chunk-latency.ts';
import { rssPairs } from './rss-pairs.ts';
import { measure, type Sample } from './measure.ts';
import { summariseProfile } from './profile.ts';
import { writeResults, type RunInfo } from './report.ts';
import {
  DEFAULT_WARDEN_ENTRY,
  commandExists,
  startCaddy,
  startNginx,
  startPlainNode,
  startUpstream,
  startWarden,
  type RunningSystem,
  type RunningWarden,
  type SystemName,
} from './systems.ts';
import { runWrk, wrkInstalled } from './wrk.ts';
import { cpuSeconds } from './proc.ts';
import { WORKLOADS, type Workload } from './workloads.ts';

const PROXY_CPU = 1;
const LOAD_CPU = 0;

/**
 * Where Warden leaves its defaults, and why (written into every result file):
 * - a 200-stream load test from one address is exactly what the per-address connection cap
 *   (default 64) exists to stop, so it is raised for the benchmark;
 * - the "distributed flood" instance trusts X-Forwarded-For from ::1 so each flood request can
 *   claim a new client address (a botnet), which the per-address lockout cannot catch.
 */
const WARDEN_ENV = { WARDEN_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: '1024' };
const DEVIATIONS = [
  'Warden runs with its defaults (audit on, SQLite store, TLS 1.3 local CA) except limits.maxConnectionsPerAddress = 1024 (default 64 would refuse the 200-stream workload from one address).',
  "warden-xff (workload e-dist only) also sets security.trustedProxies = ['::1'] so each flood request's X-Forwarded-For counts as a new client address.",
  '"node" = bench/plain-node.ts: node:https + an undici pool, TLS 1.3, the same bearer check and an access-log line, nothing else (no key store, policy, audit database or token counting): the floor for a proxy written in Node.',
  'Core 1: the system under test alone. Core 0: wrk and the fake Ollama. "direct" = wrk → fake Ollama over plain HTTP on core 0 (the load side\'s own ceiling).',
  'CPU µs/req = (utime+stime of the whole process tree, from /proc) / requests handled (valid + flood). RSS = peak VmRSS sum over the tree, sampled every 100 ms.',
];

function versionOf(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? 'unknown';
}

function floodKeys(): string[] {
  const keys: string[] = [];
  for (let i = 0; i < 8; i++) {
    // checksum-valid, unknown id: costs a cache lookup and a hash
    const unknown = generateKey().key;
    keys.push(unknown);
    // checksum-invalid: refused before any lookup
    const k = generateKey().key;
    keys.push(k.slice(0, -1) + (k.endsWith('A') ? 'B' : 'A'));
  }
  return keys;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      duration: { type: 'string' },
      only: { type: 'string' },
      systems: { type: 'string' },
      entry: { type: 'string' },
      compare: { type: 'string' },
      'compare-node-options': { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'rss-pairs': { type: 'string' },
    },
  });
  if (process.platform !== 'linux') throw new Error('the benchmark needs Linux (/proc and taskset)');
  if (!wrkInstalled()) throw new Error('wrk is not installed (Debian: apt-get install -y wrk)');
  if (cpus().length < 2) console.warn('warning: fewer than 2 CPUs; the proxy and the load generator will share a core');
  const entry = values.entry ?? DEFAULT_WARDEN_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} not found: run \`npm run build\` first`);

  if (values['cpu-prof']) return profile(entry, Number(values.duration ?? '10'), values.only ?? 'a');
  if (values['rss-pairs'] !== undefined) {
    if (values.compare === undefined || !existsSync(values.compare)) throw new Error('--rss-pairs needs --compare with another build\'s dist/src/cli/main.js');
    return rssPairs({
      entry,
      compareEntry: values.compare,
      pairs: Number(values['rss-pairs']),
      durationSeconds: Number(values.duration ?? '5'),
      proxyCpu: PROXY_CPU,
      loadCpu: LOAD_CPU,
      env: WARDEN_ENV,
      describe: `warden = ${gitRevision()}; warden-compare = ${values.compare}. Each: (a), (b), (d) for ${values.duration ?? '5'} s each (d at least 6 s), on a fresh process.`,
    });
  }

  const reps = Number(values.reps ?? (values.quick ? '1' : '3'));
  const durationSeconds = Number(values.duration ?? (values.quick ? '3' : '5'));
  const only = values.only ? new Set(values.only.split(',')) : null;
  const wanted = values.systems ? new Set(values.systems.split(',')) : null;
  const workloads = WORKLOADS.filter((w) => !only || only.has(w.id));
  const skipped: string[] = [];
  // --compare-node-options alone compares the same build under other node flags (NODE_OPTIONS).
  const compareEntry = values.compare ?? (values['compare-node-options'] !== undefined ? entry : undefined);
  if (values.compare !== undefined && !existsSync(values.compare)) throw new Error(`${values.compare} not found (--compare takes another build's dist/src/cli/main.js)`);
  // --compare runs a second Warden build beside the first on every workload Warden runs
  // (e-dist's warden-xff too, as warden-xff-compare).
  const compared: Partial<Record<SystemName, SystemName>> = { warden: 'warden-compare', 'warden-xff': 'warden-xff-compare' };
  const systemsOf = (w: Workload): SystemName[] => (compareEntry !== undefined ? w.systems.flatMap((n) => (compared[n] ? [n, compared[n]] : [n])) : w.systems);
  const want = (s: SystemName): boolean =>
    (!wanted || wanted.has(s) || ((s === 'warden-xff' || s === 'warden-xff-compare') && wanted.has('warden')) || s === 'warden-compare') && workloads.some((w) => systemsOf(w).includes(s));

  const started: RunningSystem[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of started.splice(0).reverse()) await s.stop().catch((e: unknown) => console.error(`stopping ${s.name}:`, e));
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    const upstream = await startUpstream(LOAD_CPU);
    started.push(upstream);
    const upstreamPort = Number(new URL(upstream.url).port);
    // Warden always starts: its data dir holds the certificate nginx and Caddy use too.
    const warden: RunningWarden = await startWarden({ cpu: PROXY_CPU, upstreamPort, env: WARDEN_ENV, entry });
    started.push(warden);
    const auth = `Bearer ${warden.key}`;
    const systems = new Map<SystemName, RunningSystem>([['warden', warden]]);
    if (want('direct')) systems.set('direct', upstream);
    if (want('warden-xff')) {
      const xff = await startWarden({ cpu: PROXY_CPU, upstreamPort, env: { ...WARDEN_ENV, WARDEN_SECURITY_TRUSTED_PROXIES: '::1' }, entry, name: 'warden-xff' });
      started.push(xff);
      systems.set('warden-xff', xff);
    }
    if (compareEntry !== undefined) {
      const nodeOptions = values['compare-node-options'];
      const env = nodeOptions === undefined ? WARDEN_ENV : { ...WARDEN_ENV, NODE_OPTIONS: nodeOptions };
      const other = await startWarden({ cpu: PROXY_CPU, upstreamPort, env, entry: compareEntry, name: 'warden-compare' });
      started.push(other);
      systems.set('warden-compare', other);
      if (want('warden-xff-compare')) {
        const otherXff = await startWarden({ cpu: PROXY_CPU, upstreamPort, env: { ...env, WARDEN_SECURITY_TRUSTED_PROXIES: '::1' }, entry: compareEntry, name: 'warden-xff-compare' });
        started.push(otherXff);
        systems.set('warden-xff-compare', otherXff);
      }
    }
    const proxyOpts = { cpu: PROXY_CPU, upstreamPort, auth, certFile: warden.certFile, keyFile: warden.keyFile };
    if (want('nginx')) {
      if (commandExists('nginx')) {
        const s = await startNginx(proxyOpts);
        started.push(s);
        systems.set('nginx', s);
      } else skipped.push('nginx is not installed (apt-get install -y nginx)');
    }
    if (want('caddy')) {
      if (commandExists('caddy')) {
        const s = await startCaddy(proxyOpts);
        started.push(s);
        systems.set('caddy', s);
      } else skipped.push('caddy is not installed (apt-get install -y caddy)');
    }
    if (want('node')) {
      const s = await startPlainNode(proxyOpts);
      started.push(s);
      systems.set('node', s);
    }
    for (const s of skipped) console.log(`skipping: ${s}`);
    // The (e-dist) instance authenticates with its own key.
    const authFor = (s: RunningSystem): string => ('key' in s ? `Bearer ${(s as RunningWarden).key}` : auth);

    // Warm-up: JIT, TLS session caches and upstream keep-alive pools before anything is measured.
    const warm = WORKLOADS.find((w) => w.id === 'b');
    for (const sys of systems.values()) {
      if (warm) await measure(sys, { ...warm, minDurationSeconds: 0 }, { durationSeconds: 2, loadCpu: LOAD_CPU, auth: authFor(sys), floodKeys: [], rep: 0 });
    }

    const flood = floodKeys();
    const samples: Sample[] = [];
    const t0 = Date.now();
    // Repetitions are interleaved (rep → workload → system) so slow drift on the machine
    // spreads over every system instead of favouring whichever ran first.
    for (let rep = 1; rep <= reps; rep++) {
      for (const w of workloads) {
        // direct first, then the proxies in an order that rotates with each repetition, so no
        // proxy always runs right after another's load (sockets in TIME_WAIT, a warm cache).
        const proxies = systemsOf(w).filter((n) => n !== 'direct');
        const shift = (rep - 1) % Math.max(1, proxies.length);
        const order = [...systemsOf(w).filter((n) => n === 'direct'), ...proxies.slice(shift), ...proxies.slice(0, shift)];
        for (const name of order) {
          const sys = systems.get(name);
          if (!sys || (wanted && !want(name))) continue;
          const s = await measure(sys, w, { durationSeconds, loadCpu: LOAD_CPU, auth: authFor(sys), floodKeys: flood, rep });
          samples.push(s);
          const fl = s.flood ? `  flood ${Math.round(s.flood.rps)} req/s (${s.flood.refused} refused), valid alone ${Math.round(s.flood.baselineRps)} req/s, drop ${s.flood.dropPct.toFixed(1)} %` : '';
          console.log(
            `rep ${rep} (${w.id}) ${name.padEnd(10)} ${Math.round(s.rps).toString().padStart(7)} req/s  p50 ${s.p50Ms.toFixed(2)} ms  p99 ${s.p99Ms.toFixed(2)} ms  cpu ${s.cpuUsPerReq === null ? '–' : s.cpuUsPerReq.toFixed(1)} µs/req  rss ${s.rssPeakMb.toFixed(1)} MB  errors ${s.errors}  load ${s.loadAvg.toFixed(1)}${fl}`,
          );
          if (s.errors > 0) console.warn(`  warning: ${s.errors} failed requests on ${name} (${w.id}); its numbers are suspect`);
          // let sockets in TIME_WAIT and the proxies' garbage settle
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
    // (d) once more, per chunk instead of per answer (bench/chunk-latency.ts, pinned to the load core).
    const chunkLatency: Record<string, ChunkLatency[]> = {};
    const slow = workloads.find((w) => w.id === 'd');
    if (slow) {
      for (let rep = 1; rep <= reps; rep++) {
        for (const name of systemsOf(slow)) {
          const sys = systems.get(name);
          if (!sys || (wanted && !want(name))) continue;
          // each Warden has its own CA; nginx and Caddy serve the first Warden's certificate
          const ca = join(('dataDir' in sys ? (sys as RunningWarden) : warden).dataDir, 'tls', 'ca.pem');
          const args = name === 'direct' ? [] : ['--auth', authFor(sys), '--ca', ca];
          const out = execFileSync('taskset', ['-c', String(LOAD_CPU), process.execPath, join(import.meta.dirname, 'chunk-latency.ts'), sys.url, ...args], { encoding: 'utf8', timeout: 120_000 });
          const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ChunkLatency;
          (chunkLatency[name] ??= []).push(r);
          console.log(`rep ${rep} (d per chunk) ${name.padEnd(10)} p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  chunks ${r.chunks}  errors ${r.errors}`);
          await new Promise((res) => setTimeout(res, 500));
        }
      }
    }
    const info: RunInfo = {
      date: new Date().toISOString(),
      quick: values.quick === true,
      reps,
      durationSeconds,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', kernel: release(), elapsedSeconds: Math.round((Date.now() - t0) / 1000) },
      versions: {
        node: process.version,
        warden: gitRevision(),
        wrk: versionOf('wrk', ['-v']).split(' ')[1] ?? 'unknown',
        ...(systems.has('nginx') ? { nginx: versionOf('nginx', ['-v']).replace('nginx version: ', '') } : {}),
        ...(systems.has('caddy') ? { caddy: versionOf('caddy', ['version']) } : {}),
      },
      skipped,
      deviations:
        compareEntry === undefined
          ? DEVIATIONS
          : [...DEVIATIONS, `warden-compare: ${values.compare ?? 'the same build'}${values['compare-node-options'] === undefined ? '' : ` with NODE_OPTIONS=${values['compare-node-options']}`}, measured beside warden on every workload it runs.`],
      ...(slow ? { chunkLatency } : {}),
    };
    const out = writeResults(values.out ?? join(import.meta.dirname, 'results'), info, samples);
    console.log('\n' + out.text);
    console.log(`wrote ${out.json}\nwrote ${out.md}`);
  } finally {
    await stopAll();
  }
}

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', 'src'], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' }).trim() !== '';
    const built = statSync(DEFAULT_WARDEN_ENTRY).mtime.toISOString();
    return `${rev}${dirty ? '+uncommitted' : ''} (dist built ${built})`;
  } catch {
    return 'unknown';
  }
}

/** --cpu-prof: Warden under `node --cpu-prof` on one workload (default (a)); prints where its CPU time goes. */
async function profile(entry: string, durationSeconds: number, workload: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-prof-'));
  const upstream = await startUpstream(LOAD_CPU);
  let warden: RunningWarden | null = null;
  let skipMs: number;
  let header: string;
  try {
    const spawned = Date.now();
    const env = workload === 'refusal' ? { ...WARDEN_ENV, WARDEN_SECURITY_TRUSTED_PROXIES: '127.0.0.1,::1' } : WARDEN_ENV;
    warden = await startWarden({ cpu: PROXY_CPU, upstreamPort: Number(new URL(upstream.url).port), env, entry, cpuProfDir: dir });
    if (workload === 'refusal') {
      // Refusals alone: the flood script, each request from a new X-Forwarded-For address that
      // this instance believes, so the lockout never engages and every request is a full refusal.
      const flood = { url: warden.url, script: 'flood.lua', connections: 50, cpu: LOAD_CPU, env: { BENCH_FLOOD_KEYS: floodKeys().join(',') } };
      await runWrk({ ...flood, durationSeconds: 2 }).result;
      skipMs = Date.now() - spawned;
      const pids = warden.pids();
      const c0 = cpuSeconds(pids);
      const r = await runWrk({ ...flood, durationSeconds }).result;
      const cpuUs = ((cpuSeconds(pids) - c0) * 1e6) / Math.max(1, r.requests);
      header = `(refusal) under --cpu-prof for ${durationSeconds} s: ${Math.round(r.requests / durationSeconds)} refusals/s, ${cpuUs.toFixed(1)} µs CPU each; Warden ${gitRevision()}.`;
    } else {
      const w = WORKLOADS.find((x) => x.id === workload && !x.flood);
      if (!w) throw new Error(`--cpu-prof takes one of a, b, c, d or refusal with --only, not ${workload}`);
      // warm up first, then profile only the measured window
      await measure(warden, w, { durationSeconds: 2, loadCpu: LOAD_CPU, auth: `Bearer ${warden.key}`, floodKeys: [], rep: 0 });
      skipMs = Date.now() - spawned;
      const s = await measure(warden, w, { durationSeconds, loadCpu: LOAD_CPU, auth: `Bearer ${warden.key}`, floodKeys: [], rep: 1 });
      header = `(${w.id}) under --cpu-prof for ${durationSeconds} s: ${Math.round(s.rps)} req/s, ${s.cpuUsPerReq?.toFixed(1)} µs CPU/req, errors ${s.errors}, load average ${s.loadAvg.toFixed(1)}; Warden ${gitRevision()}.`;
    }
    console.log(header);
  } finally {
    await warden?.stop();
    await upstream.stop();
  }
  // node --cpu-prof writes one profile per thread (a worker's too); the main thread's is the largest.
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((x, y) => statSync(join(dir, y)).size - statSync(join(dir, x)).size)[0];
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const text = summariseProfile(join(dir, file), 30, skipMs);
  console.log(`profile: ${join(dir, file)} (first ${skipMs} ms skipped: start-up and warm-up)\n`);
  console.log(text);
  const outDir = join(import.meta.dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `${new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-cpu-prof-${workload}.md`);
  writeFileSync(out, `# Warden under node --cpu-prof, workload (${workload})\n\n${header}\n\n${text}\n`);
  console.log(`\nwrote ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
