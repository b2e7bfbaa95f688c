// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: top functions by self
// time, and the same time grouped by where the code lives (Node's TLS/HTTP internals, undici,
// Warden's own modules, GC…), which is what decides what to change.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a function lives, coarse enough to act on. */
export function area(url: string, fn: string): string {
  if (!url) {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn;
    return `native: ${fn || '(anonymous)'}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm: ${nm[1]}`;
  const own = /\/(?:dist\/)?src\/(.+?)\.(?:js|ts)$/.exec(url);
  if (own) return `warden: src/${own[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node: ').replace(/^node:/, 'node: ');
  return url;
}

export interface ProfileSummary {
  totalMs: number;
  functions: { name: string; where: string; selfMs: number; pct: number }[];
  areas: { area: string; selfMs: number; pct: number }[];
}

/**
 * `skipMs`: ignore samples from the first skipMs of the profile (the CLI's start-up: module
 * loading, TLS setup, warm-up), so the summary describes the steady state under load only.
 */
export function analyseProfile(file: string, top = 25, skipMs = 0): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < skipMs * 1000) continue;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const fnTotals = new Map<string, { name: string; where: string; us: number }>();
  const areaTotals = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const shortUrl = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(dist\/)?src\//, 'src/');
    const key = `${functionName}\u0000${url}\u0000${lineNumber}`;
    const cur = fnTotals.get(key) ?? { name: functionName || '(anonymous)', where: url ? `${shortUrl}:${lineNumber + 1}` : '', us: 0 };
    cur.us += us;
    fnTotals.set(key, cur);
    const a = area(url, functionName);
    areaTotals.set(a, (areaTotals.get(a) ?? 0) + us);
  }
  const pct = (us: number): number => (busy ? (us * 100) / busy : 0);
  return {
    totalMs: busy / 1000,
    functions: [...fnTotals.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, pct: pct(f.us) })),
    areas: [...areaTotals.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([a, us]) => ({ area: a, selfMs: us / 1000, pct: pct(us) })),
  };
}

/** Areas folded into the few buckets that decide what to change (first matching rule wins). */
const GROUPS: [RegExp, string][] = [
  [/native: (writev|writeLatin1String|writeUtf8String|writeBuffer|shutdown|close)$|stream_base_commons|^node: net$/, 'socket writes: TLS encryption + syscalls'],
  [/tls\//, 'TLS handshakes and TLSSocket set-up (JS side)'],
  [/npm: undici|^wasm:/, 'undici: the upstream HTTP client (+ its llhttp wasm)'],
  [/src\/(audit|store)\/|npm: kysely/, 'audit log: JSON lines + SQLite insert (kysely)'],
  [/src\/proxy\/forward/, 'src/proxy/forward (incl. /api/tags parse + filter + stringify)'],
  [/src\/|crypto\/|npm: prom-client/, 'rest of Warden\'s request path (gateway, key hash, headers, policy, metrics)'],
  [/^GC$/, 'garbage collection'],
  [/^node: |native: runMicrotasks|^\(program\)$/, 'Node http server, streams, events, timers, VM'],
];

export function groupAreas(areas: ProfileSummary['areas']): { group: string; pct: number }[] {
  const totals = new Map<string, number>();
  for (const a of areas) {
    const g = GROUPS.find(([re]) => re.test(a.area))?.[1] ?? 'other';
    totals.set(g, (totals.get(g) ?? 0) + a.pct);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([group, pct]) => ({ group, pct }));
}

export function summariseProfile(file: string, top = 25, skipMs = 0): string {
  const s = analyseProfile(file, top, skipMs);
  const all = analyseProfile(file, Number.MAX_SAFE_INTEGER, skipMs);
  const lines = ['| self % | where the time goes |', '|---:|---|'];
  for (const g of groupAreas(all.areas)) lines.push(`| ${g.pct.toFixed(1)} | ${g.group} |`);
  lines.push('', `Busy time sampled: ${s.totalMs.toFixed(0)} ms (idle excluded)`, '', '| self % | self ms | function | where |', '|---:|---:|---|---|');
  for (const f of s.functions) lines.push(`| ${f.pct.toFixed(1)} | ${f.selfMs.toFixed(0)} | \`${f.name}\` | ${f.where} |`);
  lines.push('', '| self % | self ms | area |', '|---:|---:|---|');
  for (const a of s.areas) lines.push(`| ${a.pct.toFixed(1)} | ${a.selfMs.toFixed(0)} | ${a.area} |`);
  return lines.join('\n');
}

// `node bench/profile.ts FILE.cpuprofile [SKIP_MS]` summarises an existing profile.
if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/profile.ts FILE.cpuprofile');
    process.exitCode = 2;
  } else {
    console.log(summariseProfile(file, 25, Number(process.argv[3] ?? '0')));
  }
}
