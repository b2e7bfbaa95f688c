// The five workloads of the benchmark issue, as data. run.ts drives each one against each system.
import type { SystemName } from './systems.ts';

export type WorkloadId = 'a' | 'b' | 'c' | 'd' | 'e' | 'e-dist';

export interface Workload {
  id: WorkloadId;
  title: string;
  script: string;
  connections: number;
  /** Systems it runs against. */
  systems: SystemName[];
  /** Slow streams need a run long enough for whole answers (~2.5 s each). */
  minDurationSeconds?: number;
  /** (e): a second wrk sends invalid keys beside the valid traffic. */
  flood?: { connections: number; ratePerSecond: number };
}

/** Chunks per streamed answer: 50 NDJSON lines plus Ollama's final `done` line. */
export const CHUNKS_PER_STREAM = 51;

const PROXIES: SystemName[] = ['warden', 'nginx', 'caddy', 'node'];

export const WORKLOADS: Workload[] = [
  { id: 'a', title: 'GET /api/tags, keep-alive, 50 connections', script: 'tags.lua', connections: 50, systems: ['direct', ...PROXIES] },
  { id: 'b', title: 'POST /api/chat, 50-line NDJSON stream, 50 connections', script: 'chat.lua', connections: 50, systems: ['direct', ...PROXIES] },
  // No direct column: plain HTTP to the fake says nothing about TLS handshakes, and its ~35,000
  // connections in 5 s leave as many sockets in TIME_WAIT on loopback, which slowed whichever
  // proxy ran next by 3-4× (measured: Warden 1,239 → 345 req/s).
  { id: 'c', title: 'GET /api/tags, new TLS connection per request, 50 connections', script: 'close.lua', connections: 50, systems: PROXIES },
  {
    id: 'd',
    title: '200 concurrent slow streams (one line every 50 ms)',
    script: 'slow.lua',
    connections: 200,
    systems: ['direct', ...PROXIES],
    minDurationSeconds: 6,
  },
  {
    id: 'e',
    title: '(a) while invalid keys arrive at 5,000 req/s from one other address',
    script: 'tags.lua',
    connections: 50,
    systems: PROXIES,
    flood: { connections: 100, ratePerSecond: 5000 },
  },
  {
    id: 'e-dist',
    title: '(a) while invalid keys arrive at 5,000 req/s, each from a new address (X-Forwarded-For from a trusted proxy)',
    script: 'tags.lua',
    connections: 50,
    systems: ['warden-xff'],
    flood: { connections: 100, ratePerSecond: 5000 },
  },
];
