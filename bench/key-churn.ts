// Does a key change stall traffic? A Warden with 10,000 keys serves a steady
// stream of requests while 20 key changes land in the store (as `warden keys update` from
// another process would); the latency of every request is recorded, before and during the burst.
// With the whole key table reloaded per change, each change blocked the event loop for ~160–215 ms.
//
//   npm run build
//   node bench/key-churn.ts                                   # this build
//   node bench/key-churn.ts --cli /tmp/other/dist/src/cli/main.js   # another build (A/B)
//   options: --keys 10000 --changes 20 --gap-ms 100 --concurrency 8 --baseline-ms 3000
//
// It is a measurement, not a test: it prints p50/p99/max for both phases and exits.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startFakeOllama } from '../test/helpers/fake-ollama.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    cli: { type: 'string', default: join(ROOT, 'dist', 'src', 'cli', 'main.js') },
    keys: { type: 'string', default: '10000' },
    changes: { type: 'string', default: '20' },
    'gap-ms': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '8' },
    'baseline-ms': { type: 'string', default: '3000' },
  },
});
const cli = resolve(values.cli);
const nKeys = Number(values.keys);
const nChanges = Number(values.changes);
const gapMs = Number(values['gap-ms']);
const concurrency = Number(values.concurrency);
const baselineMs = Number(values['baseline-ms']);

interface StoreLike {
  keys: {
    create(k: Record<string, unknown>): Promise<{ id: string }>;
    update(id: string, patch: Record<string, unknown>): Promise<unknown>;
  };
  close(): Promise<void>;
}

function run(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`warden ${args.join(' ')} → ${code}\n${out}`))));
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(label: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `${label.padEnd(22)} n=${String(s.length).padStart(6)}  p50=${pct(s, 50).toFixed(2)} ms  p99=${pct(s, 99).toFixed(2)} ms  max=${(s.at(-1) ?? NaN).toFixed(2)} ms`;
}

const dir = mkdtempSync(join(tmpdir(), 'warden-key-churn-'));
const fake = await startFakeOllama({ fast: true });
let serve: ReturnType<typeof spawn> | null = null;
try {
  const init = await run(['--data-dir', dir, 'init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url]);
  const adminKey = /owk_[A-Za-z0-9_]+/.exec(init)?.[0];
  if (!adminKey) throw new Error(`no admin key in init output:\n${init}`);

  // The measured build's own store code, so its schema version matches.
  const storeMod = (await import(pathToFileURL(join(dirname(cli), '..', 'store', 'index.js')).href)) as {
    openStore(o: { url: string; dataDir: string }): Promise<StoreLike>;
  };
  const store = await storeMod.openStore({ url: 'sqlite:warden.db', dataDir: dir });
  const ids: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < nKeys; i++) {
    const id = `key_${randomBytes(12).toString('hex')}`;
    await store.keys.create({
      id,
      name: `bench-${i}`,
      scopes: ['inference', 'models:read'],
      models: i % 3 === 0 ? ['llama3.*', 'qwen2.5:*'] : [],
      secretHash: randomBytes(32).toString('hex'),
      createdAt: new Date(),
      expiresAt: null,
      rpm: null,
      tpm: null,
      concurrency: null,
      certFingerprint: null,
      ollamaPubkeys: [],
      capNumCtx: null,
      capNumPredict: null,
      capKeepAlive: null,
    });
    ids.push(id);
  }
  console.log(`${nKeys} keys created in ${((Date.now() - t0) / 1000).toFixed(1)} s; build ${cli}`);

  serve = spawn(process.execPath, [cli, '--data-dir', dir, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WARDEN_LOG_LEVEL: 'warn' } });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`serve did not start:\n${out}`)), 60_000);
    const on = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (https?:\/\/[^\s"]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    serve!.stdout!.on('data', on);
    serve!.stderr!.on('data', on);
  });

  const { readFileSync } = await import('node:fs');
  const pool = new Pool(url, { connections: concurrency, connect: { ca: readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8') } });
  const samples: Array<{ at: number; ms: number }> = [];
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      const start = performance.now();
      const r = await pool.request({ path: '/api/version', method: 'GET', headers: { authorization: `Bearer ${adminKey}` } });
      await r.body.text();
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
      samples.push({ at: start, ms: performance.now() - start });
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  await new Promise((r) => setTimeout(r, 1000)); // warm-up, not counted
  const baseStart = performance.now();
  await new Promise((r) => setTimeout(r, baselineMs));
  const churnStart = performance.now();
  const changeMs: number[] = [];
  for (let i = 0; i < nChanges; i++) {
    const c0 = performance.now();
    await store.keys.update(ids[(i * 7919) % ids.length]!, { rpm: 100 + i });
    changeMs.push(performance.now() - c0);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await new Promise((r) => setTimeout(r, 1000)); // the last change reaches the server's cache
  const churnEnd = performance.now();
  running = false;
  await Promise.all(workers);
  await pool.close();
  await store.close();

  const base = samples.filter((s) => s.at >= baseStart && s.at < churnStart).map((s) => s.ms);
  const churn = samples.filter((s) => s.at >= churnStart && s.at < churnEnd).map((s) => s.ms);
  console.log(summary('baseline (no changes)', base));
  console.log(summary(`during ${nChanges} changes`, churn));
  console.log(`store writes: median ${[...changeMs].sort((a, b) => a - b)[changeMs.length >> 1]!.toFixed(1)} ms each (the writer's side, not the server's)`);
} finally {
  serve?.kill('SIGTERM');
  await fake.close();
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
