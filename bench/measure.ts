// One measurement: drive a running system with wrk for a fixed time and read, from /proc, how much
// CPU the system's process tree used and how large its RSS grew meanwhile.
import { loadavg } from 'node:os';
import { cpuSeconds, sampleRss } from './proc.ts';
import type { RunningSystem } from './systems.ts';
import { runWrk, type WrkResult } from './wrk.ts';
import type { Workload, WorkloadId } from './workloads.ts';

export interface Sample {
  system: string;
  workload: WorkloadId;
  rep: number;
  /** Valid requests per second (what the user gets). */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Proxy CPU (user + system, all threads and processes) per request handled, in µs. null for direct. */
  cpuUsPerReq: number | null;
  /** Peak RSS of the proxy's process tree during the run, MB. */
  rssPeakMb: number;
  requests: number;
  /** Answers outside 2xx/3xx plus socket errors and timeouts on the valid traffic: must be 0. */
  errors: number;
  /** 1-minute load average when the run started: anything well above 2 on 2 cores means other work shared the machine. */
  loadAvg: number;
  /** (e): the flood beside the valid traffic, and the valid req/s measured alone just before. */
  flood?: {
    rps: number;
    requests: number;
    refused: number;
    otherErrors: number;
    baselineRps: number;
    dropPct: number;
    /** Proxy CPU per flood request: CPU beyond what the valid requests cost in the baseline run. */
    cpuUsPerRefusal: number | null;
  };
}

export interface MeasureOptions {
  durationSeconds: number;
  loadCpu: number;
  /** "Bearer owk_…" */
  auth: string;
  /** Invalid keys for the flood. */
  floodKeys: string[];
  rep: number;
}

function errorsOf(r: WrkResult): number {
  return r.statusErrors + r.connectErrors + r.readErrors + r.writeErrors + r.timeouts;
}

export async function measure(sys: RunningSystem, w: Workload, o: MeasureOptions): Promise<Sample> {
  const duration = Math.max(o.durationSeconds, w.minDurationSeconds ?? 0);
  // (e): the valid traffic alone first, right before the same traffic with the flood beside it,
  // so the drop compares two adjacent runs instead of runs minutes apart on a shared machine.
  const pids = sys.pids();
  let baseline: WrkResult | null = null;
  let baselineCpuPerReq = 0;
  if (w.flood) {
    const c0 = cpuSeconds(pids);
    baseline = await runWrk({ url: sys.url, script: w.script, connections: w.connections, durationSeconds: duration, cpu: o.loadCpu, env: { BENCH_AUTH: o.auth } }).result;
    baselineCpuPerReq = baseline.requests > 0 ? (cpuSeconds(pids) - c0) / baseline.requests : 0;
  }
  const load = loadavg()[0] ?? 0;
  const cpuBefore = cpuSeconds(pids);
  const rss = sampleRss(pids);
  const valid = runWrk({
    url: sys.url,
    script: w.script,
    connections: w.connections,
    durationSeconds: duration,
    cpu: o.loadCpu,
    env: { BENCH_AUTH: o.auth },
  });
  const flood = w.flood
    ? runWrk({
        url: sys.url6,
        script: 'flood.lua',
        connections: w.flood.connections,
        durationSeconds: duration,
        cpu: o.loadCpu,
        // delay() is per connection: N connections each waiting N/rate seconds ≈ rate req/s at most
        env: { BENCH_FLOOD_KEYS: o.floodKeys.join(','), BENCH_FLOOD_DELAY_MS: String(Math.round((w.flood.connections * 1000) / w.flood.ratePerSecond)) },
      })
    : null;
  const [v, f] = await Promise.all([valid.result, flood?.result ?? Promise.resolve(null)]);
  const cpuUsed = cpuSeconds(pids) - cpuBefore;
  const rssPeak = rss.stop();
  const handled = v.requests + (f?.requests ?? 0);
  return {
    system: sys.name,
    workload: w.id,
    rep: o.rep,
    rps: v.rps,
    p50Ms: v.p50Us / 1000,
    p99Ms: v.p99Us / 1000,
    cpuUsPerReq: sys.name === 'direct' || handled === 0 ? null : (cpuUsed * 1e6) / handled,
    rssPeakMb: rssPeak / (1024 * 1024),
    requests: v.requests,
    errors: errorsOf(v),
    loadAvg: load,
    ...(f && baseline
      ? {
          flood: {
            rps: f.rps,
            requests: f.requests,
            refused: f.statusErrors,
            otherErrors: errorsOf(f) - f.statusErrors,
            baselineRps: baseline.rps,
            dropPct: (1 - v.rps / baseline.rps) * 100,
            cpuUsPerRefusal: f.requests > 0 && sys.name !== 'direct' ? (Math.max(0, cpuUsed - v.requests * baselineCpuPerReq) * 1e6) / f.requests : null,
          },
        }
      : {}),
  };
}
