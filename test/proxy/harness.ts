// A minimal listener for the proxy floor's own tests: a real http.Server whose handler reads the body
// (or streams it, for blob uploads), picks an upstream and calls forward() — the same calls the
// real listener makes — plus a raw HTTP client that timestamps every chunk it receives, and the
// set-up most of those tests share (withProxy: a fake Ollama, the pool, the listener).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { before, after } from 'node:test';
import { forward, type ForwardOptions, type ForwardResult } from '../../src/proxy/forward.ts';
import { createUpstreams, type Upstreams } from '../../src/proxy/upstreams.ts';
import { startFakeOllama, type FakeOllama, type FakeOllamaOptions } from '../helpers/fake-ollama.ts';

export interface ProxyHarness {
  url: string;
  port: number;
  results: ForwardResult[];
  /** Emits 'result' (ForwardResult) when a forward() call returns. */
  events: EventEmitter;
  /** Highest res.writableLength seen on any response: what the proxy held in memory for a slow client. */
  maxWritableLength: number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  maxStreamBytes?: number;
  /** Extra options per request (responseFilter, signal, …). */
  tweak?: (req: http.IncomingMessage) => Partial<ForwardOptions>;
  /** server.timeout (socket inactivity) of the listener; Node's default is none. */
  serverTimeoutMs?: number;
}

export async function startProxy(upstreams: Upstreams, opts: HarnessOptions = {}): Promise<ProxyHarness> {
  const results: ForwardResult[] = [];
  const events = new EventEmitter();
  const harness = { maxWritableLength: 0 };
  const server = http.createServer((req, res) => {
    const origWrite = res.write.bind(res) as (chunk: Buffer) => boolean;
    res.write = ((chunk: Buffer) => {
      const ok = origWrite(chunk);
      harness.maxWritableLength = Math.max(harness.maxWritableLength, res.writableLength);
      return ok;
    }) as typeof res.write;
    void handle(req, res);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    let body: Buffer | null | 'stream' = null;
    let model: string | null = null;
    if (method === 'POST' && path.startsWith('/api/blobs/')) {
      body = 'stream';
    } else {
      const parts: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) parts.push(chunk);
      if (parts.length > 0) {
        body = Buffer.concat(parts);
        try {
          const m = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
          model = typeof m === 'string' ? m : null;
        } catch {
          model = null;
        }
      }
    }
    const result = await forward(req, res, {
      upstream: upstreams.pick(model),
      path,
      method,
      body,
      maxStreamBytes: opts.maxStreamBytes,
      clientAddress: req.socket.remoteAddress ?? '',
      proto: 'http',
      ...opts.tweak?.(req),
    });
    results.push(result);
    events.emit('result', result);
  }

  if (opts.serverTimeoutMs !== undefined) server.timeout = opts.serverTimeoutMs;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    results,
    events,
    get maxWritableLength() {
      return harness.maxWritableLength;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ClientResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** ms since the request was sent, one entry per received chunk. */
  chunkTimes: number[];
  endTime: number;
}

export interface ClientRequestOptions {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/** Sends one request over a fresh connection (no agent); `onResponse` gets the answer's head. */
function send(port: number, opts: ClientRequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
  const headers = { ...opts.headers };
  if (opts.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers, agent: false }, onResponse);
  req.end(opts.body);
  return req;
}

/** One request over a fresh connection (no agent), collecting the answer with per-chunk timestamps. */
export function request(port: number, opts: ClientRequestOptions): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = send(port, opts, (res) => {
      const parts: Buffer[] = [];
      const chunkTimes: number[] = [];
      res.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        chunkTimes.push(performance.now() - start);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), chunkTimes, endTime: performance.now() - start }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** One request over a fresh connection, resolved as soon as the answer's head is in and its body
 *  left unread: a client that reads slowly, stops reading or goes away. A later error of the
 *  request (the server cutting it) is swallowed: the test asserts what the server did. */
export function requestHead(port: number, opts: ClientRequestOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => send(port, opts, resolve).on('error', reject));
}

/** Resolves when `check` returns true, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

export interface ProxyFixtureOptions {
  /** The fake Ollama behind the pool (default: startFakeOllama's defaults). */
  ollama?: FakeOllamaOptions;
  harness?: HarnessOptions;
}

/** A fake Ollama, a pool with it as the only upstream, and the listener, shared by a suite's tests. */
export interface ProxyFixture {
  readonly fake: FakeOllama;
  readonly upstreams: Upstreams;
  readonly proxy: ProxyHarness;
}

/**
 * Starts a fake Ollama, a pool of it and the listener in a before() hook of the current suite and
 * closes them in an after() hook. The handles are there from the hook on: read them inside tests,
 * the suite's tests' hooks and the harness' `tweak` (which runs per request).
 */
export function withProxy(o: ProxyFixtureOptions = {}): ProxyFixture {
  let fake: FakeOllama | undefined;
  let upstreams: Upstreams | undefined;
  let proxy: ProxyHarness | undefined;
  before(async () => {
    fake = await startFakeOllama(o.ollama);
    upstreams = createUpstreams([fake.url]);
    proxy = await startProxy(upstreams, o.harness);
  });
  after(async () => {
    await proxy?.close();
    await upstreams?.close(0);
    await fake?.close();
  });
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`withProxy: ${what} is not running (read it inside a test or a later hook)`);
    return v;
  };
  return {
    get fake() {
      return ready(fake, 'the fake Ollama');
    },
    get upstreams() {
      return ready(upstreams, 'the upstream pool');
    },
    get proxy() {
      return ready(proxy, 'the listener');
    },
  };
}

/** A loopback URL where nothing listens (a port just bound and released): a dead upstream. */
export async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
