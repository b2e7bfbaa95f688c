// A minimal listener for the proxy floor's own tests: a real http.Server whose handler reads the body
// (or streams it, for blob uploads), picks an upstream and calls forward() — the same calls the
// real listener makes — plus a raw HTTP client that timestamps every chunk it receives.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { forward, type ForwardOptions, type ForwardResult } from '../../src/proxy/forward.ts';
import type { Upstreams } from '../../src/proxy/upstreams.ts';

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

/** One request over a fresh connection (no agent), collecting the answer with per-chunk timestamps. */
export function request(port: number, opts: ClientRequestOptions): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const headers = { ...opts.headers };
    if (opts.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers, agent: false }, (res) => {
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
    req.end(opts.body);
  });
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
