// RSS of two Warden builds, in pairs of fresh processes (`--rss-pairs N` with `--compare`).
//
// In the main run each system is one long-lived process, and its RSS column is the peak sampled
// every 100 ms. That peak depends on when V8 last ran a full collection: an A/A run of one build
// put the same build at 144 and 180 MB (results/2026-11-27T16-02-48Z.md). So a memory change
// smaller than ~40 MB is measured here instead. Each pair starts both builds fresh, one after the
// other (which goes first alternates), and runs (a), (b) and then (d) on each: RSS is read once
// after start-up (idle) and as the peak during (d), 200 open streams after the heap has grown.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { measure } from './measure.ts';
import { treeRssBytes } from './proc.ts';
import { startUpstream, startWarden, type SystemName } from './systems.ts';
import { WORKLOADS, type WorkloadId } from './workloads.ts';

export interface RssPairsOptions {
  entry: string;
  compareEntry: string;
  pairs: number;
  durationSeconds: number;
  proxyCpu: number;
  loadCpu: number;
  env: Record<string, string>;
  describe: string;
}

interface Row {
  system: SystemName;
  pair: number;
  idleMb: number;
  peakDMb: number;
}

const MB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function workload(id: WorkloadId): (typeof WORKLOADS)[number] {
  const w = WORKLOADS.find((x) => x.id === id && !x.flood);
  if (!w) throw new Error(`no workload ${id}`);
  return w;
}

export async function rssPairs(o: RssPairsOptions): Promise<void> {
  const upstream = await startUpstream(o.loadCpu);
  const upstreamPort = Number(new URL(upstream.url).port);
  const builds: Array<[SystemName, string]> = [
    ['warden', o.entry],
    ['warden-compare', o.compareEntry],
  ];
  const rows: Row[] = [];
  try {
    for (let pair = 1; pair <= o.pairs; pair++) {
      for (const [system, entry] of pair % 2 ? builds : [...builds].reverse()) {
        const w = await startWarden({ cpu: o.proxyCpu, upstreamPort, env: o.env, entry, name: system });
        try {
          await sleep(2000); // start-up work (store, certificate, first timers) settles
          const idleMb = treeRssBytes(w.pids()) / MB;
          const run = { durationSeconds: o.durationSeconds, loadCpu: o.loadCpu, auth: `Bearer ${w.key}`, floodKeys: [], rep: pair };
          await measure(w, workload('a'), run);
          await measure(w, workload('b'), run);
          const d = await measure(w, workload('d'), run);
          rows.push({ system, pair, idleMb, peakDMb: d.rssPeakMb });
          console.log(`pair ${pair} ${system.padEnd(15)} idle ${idleMb.toFixed(1)} MB  peak in (d) ${d.rssPeakMb.toFixed(1)} MB  errors ${d.errors}`);
        } finally {
          await w.stop();
        }
      }
    }
  } finally {
    await upstream.stop();
  }

  const lines = [
    `# RSS in pairs of fresh processes: ${o.pairs} pairs`,
    '',
    `${o.describe}`,
    '',
    '| system | idle MB, median | idle MB, range | peak in (d) MB, median | peak in (d) MB, range |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const [system, entry] of builds) {
    const mine = rows.filter((r) => r.system === system);
    const idle = mine.map((r) => r.idleMb);
    const peak = mine.map((r) => r.peakDMb);
    const range = (xs: number[]): string => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
    lines.push(`| ${system} (${entry}) | ${median(idle).toFixed(1)} | ${range(idle)} | ${median(peak).toFixed(1)} | ${range(peak)} |`);
  }
  const text = lines.join('\n') + '\n';
  console.log(`\n${text}`);
  const outDir = join(import.meta.dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `${new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-rss-pairs.md`);
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
