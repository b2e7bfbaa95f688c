// Latency a proxy adds to each streamed chunk, measured per chunk rather than per answer: the fake
// Ollama stamps every NDJSON line with the wall-clock time it wrote it (`created_at`, microseconds,
// as Ollama does per chunk), and this client notes when the line reached it. wrk only sees whole
// answers, whose latency also holds the TLS handshakes of 200 connections opening at once; this
// measures what the target names, "p99 latency added per streamed chunk".
//
// Run as its own process pinned to the load core (run.ts does that):
//   node bench/chunk-latency.ts URL [--auth "Bearer …"] [--ca FILE] [--streams 200] [--chunks 50] [--delay-ms 50]
// Prints one JSON line: {"chunks":N,"p50Ms":…,"p99Ms":…,"maxMs":…,"errors":N}.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

export interface ChunkLatency {
  chunks: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
}

/** `2026-11-27T10:37:35.865255Z` → milliseconds since the epoch, keeping the microseconds. */
export function parseCreatedAt(s: string): number {
  const m = /^(.{19})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) return Number.NaN;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return Date.parse(`${m[1]}Z`) + Number(frac.slice(0, 3)) + Number(frac.slice(3, 6)) / 1000;
}

/** After the last stream's first chunk, this long is left out too (its handshake's tail). */
const SETTLE_MS = 100;
const CREATED_AT = '"created_at":"';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function measureChunkLatency(o: { url: string; auth: string | null; ca: string | null; streams: number; chunks: number; delayMs: number }): Promise<ChunkLatency> {
  const pool = new Pool(o.url, { connections: o.streams, connect: o.ca ? { ca: o.ca, servername: 'localhost' } : undefined });
  // [sent, latency] pairs; only chunks sent after every stream is flowing are counted, so the
  // streams' start (request parsing, key checks, upstream connections) is not per-chunk latency.
  const samples: [number, number][] = [];
  let allFlowingAt = 0;
  let flowing = 0;
  let errors = 0;
  // The 200 connections are opened (TLS handshakes done) before any stream starts, and the
  // streams start evenly spread over one line interval, so their lines reach the proxy evenly
  // (the fake Ollama keeps each stream on its own fixed schedule). Started at once, the streams'
  // lines arrived in bursts of up to 200, and p99 measured how long a burst took to drain on
  // whichever core had it, varying 2–17 ms from run to run for direct and proxies alike.
  const headers = o.auth ? { authorization: o.auth } : {};
  const warm = await Promise.allSettled(
    Array.from({ length: o.streams }, async () => {
      const res = await pool.request({ path: '/api/version', method: 'GET', headers });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`warm-up answered ${res.statusCode}`);
    }),
  );
  errors += warm.filter((r) => r.status === 'rejected').length;
  const one = async (i: number): Promise<void> => {
    await sleep((i * o.delayMs) / o.streams);
    const res = await pool.request({
      path: '/api/chat',
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-fake-chunks': String(o.chunks),
        'x-fake-delay-ms': String(o.delayMs),
        ...headers,
      },
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'Tell me a long story.' }] }),
    });
    if (res.statusCode !== 200) {
      errors++;
      await res.body.dump();
      return;
    }
    let rest = '';
    let first = true;
    for await (const chunk of res.body) {
      const arrived = performance.timeOrigin + performance.now();
      if (first) {
        first = false;
        if (++flowing === o.streams) allFlowingAt = arrived;
      }
      const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        // a string search, not JSON.parse: the client shares its core with the fake Ollama
        const at = line.indexOf(CREATED_AT);
        const sent = at === -1 ? Number.NaN : parseCreatedAt(line.slice(at + CREATED_AT.length, line.indexOf('"', at + CREATED_AT.length)));
        if (Number.isFinite(sent)) samples.push([sent, arrived - sent]);
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: o.streams }, (_, i) => one(i)));
  errors += results.filter((r) => r.status === 'rejected').length;
  await pool.close();
  const from = allFlowingAt + SETTLE_MS;
  const latencies = samples.filter(([sent]) => allFlowingAt > 0 && sent >= from).map(([, l]) => l);
  latencies.sort((a, b) => a - b);
  return { chunks: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies.at(-1) ?? Number.NaN, errors };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      auth: { type: 'string' },
      ca: { type: 'string' },
      streams: { type: 'string', default: '200' },
      chunks: { type: 'string', default: '50' },
      'delay-ms': { type: 'string', default: '50' },
    },
  });
  const url = positionals[0];
  if (!url) throw new Error('usage: chunk-latency.ts URL [--auth H] [--ca FILE] [--streams N] [--chunks N] [--delay-ms N]');
  const result = await measureChunkLatency({
    url,
    auth: values.auth ?? null,
    ca: values.ca ? readFileSync(values.ca, 'utf8') : null,
    streams: Number(values.streams),
    chunks: Number(values.chunks),
    delayMs: Number(values['delay-ms']),
  });
  console.log(JSON.stringify(result));
}
