// A stand-in for Ollama that speaks its documented HTTP API (ollama/ollama docs/api.md and
// docs/openai.md) on 127.0.0.1, port 0. Tests use it as the real upstream boundary: it records
// every request it receives (so a test can prove a refused request never reached Ollama), notices
// when the proxy cancels a stream, and, like Ollama bound to loopback, can refuse a foreign Host.
//
// Per-request knobs travel as headers so they pass through the proxy untouched:
//   x-fake-chunks: N      number of streamed chunks (default opts.chunks)
//   x-fake-delay-ms: N    pause between chunks (default opts.delayMs; 0 in fast mode)
//   x-fake-pad-bytes: N   extra bytes of text per chunk (to make big streams for back-pressure tests)
//   x-fake-die-after: N   destroy the connection after N chunks (Ollama crashing mid-answer)
//   x-fake-answer-headers: JSON object   extra headers on the answer (a hostile or misconfigured upstream)
//   x-fake-status: N      answer with this status and {} instead of the route's answer
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FakeModel {
  name: string;
  size?: number;
}

export interface FakeOllamaOptions {
  /** Streamed chunks per generate/chat answer (before the final done line). Default 5. */
  chunks?: number;
  /** Delay between chunks in ms. Default 20. */
  delayMs?: number;
  /** No delays at all (benchmarks). */
  fast?: boolean;
  /** Answer 403 unless Host is 127.0.0.1:<port> or localhost:<port>, like Ollama on loopback. */
  foreignHostCheck?: boolean;
  /** Models the fake "has". Default: llama3.2:latest, qwen2.5:7b, nomic-embed-text:latest, gpt-oss:120b-cloud. */
  models?: string[];
  /** prompt_eval_count reported in every final line. Default 26. */
  promptTokens?: number;
  /** Version reported by /api/version. Default 0.12.0. */
  version?: string;
  /** Extra fields in every /api/tags and /api/ps entry (e.g. text with `<`, which Go escapes). */
  tagExtra?: Record<string, unknown>;
  /** Models in memory (/api/ps) at start. Default: the first model. */
  loaded?: string[];
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The request body (empty for blob uploads, which are only counted). */
  body: Buffer;
  bodyBytes: number;
  /** The client (the proxy) went away before the answer was complete. */
  aborted: boolean;
  /** The answer was sent completely. */
  completed: boolean;
  /** Response body bytes handed to the socket so far. */
  bytesSent: number;
  /** Times the fake had to wait for 'drain' (i.e. the reader applied back-pressure). */
  drainWaits: number;
  status: number;
}

export interface FakeOllama {
  url: string;
  port: number;
  host: string;
  requests: RecordedRequest[];
  /** Emits 'request' (RecordedRequest) on arrival and 'aborted' / 'completed' when it ends. */
  events: EventEmitter;
  setModels(models: string[]): void;
  /** Make every request fail with this status (e.g. 500) until set to null. */
  setFailure(status: number | null): void;
  /** 'reset': every request has its connection closed with no answer (a crashed box);
   *  'hang': every request (health probes included) is read and never answered; null: normal. */
  setBehaviour(b: 'reset' | 'hang' | null): void;
  /** Models /api/ps reports in memory (default: the first model). A generation adds its model, like Ollama loading it. */
  setLoaded(models: string[]): void;
  /** Models currently reported by /api/ps. */
  loaded(): string[];
  close(): Promise<void>;
}

const DEFAULT_MODELS = ['llama3.2:latest', 'qwen2.5:7b', 'nomic-embed-text:latest', 'gpt-oss:120b-cloud'];
const DIGEST = 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72';

function normaliseModel(name: string): string {
  const lastSlash = name.lastIndexOf('/');
  return name.indexOf(':', lastSlash + 1) === -1 ? `${name}:latest` : name;
}

export async function startFakeOllama(opts: FakeOllamaOptions = {}): Promise<FakeOllama> {
  let models = (opts.models ?? DEFAULT_MODELS).map(normaliseModel);
  let failure: number | null = null;
  let behaviour: 'reset' | 'hang' | null = null;
  const blobs = new Set<string>();
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  const promptTokens = opts.promptTokens ?? 26;
  const version = opts.version ?? '0.12.0';
  let port = 0;

  const server = http.createServer((req, res) => {
    const rec: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.alloc(0),
      bodyBytes: 0,
      aborted: false,
      completed: false,
      bytesSent: 0,
      drainWaits: 0,
      status: 0,
    };
    requests.push(rec);
    events.emit('request', rec);
    res.on('close', () => {
      if (!res.writableFinished) {
        rec.aborted = true;
        events.emit('aborted', rec);
      }
    });
    res.on('finish', () => {
      rec.completed = true;
      events.emit('completed', rec);
    });
    handle(req, res, rec).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, rec, 500, { error: String(err) });
      else res.destroy();
    });
  });

  const loadedSet = new Set((opts.loaded ?? (opts.models ?? DEFAULT_MODELS).slice(0, 1)).map(normaliseModel));
  const ctx = (): Ctx => ({ models, promptTokens, version, blobs, opts, port, loaded: loadedSet });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest): Promise<void> {
    if (opts.foreignHostCheck) {
      const host = req.headers.host ?? '';
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
        rec.status = 403;
        res.writeHead(403).end();
        return;
      }
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const isBlobUpload = req.method === 'POST' && path.startsWith('/api/blobs/');
    const parts: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      rec.bodyBytes += chunk.length;
      if (!isBlobUpload) parts.push(chunk);
    }
    rec.body = Buffer.concat(parts);
    if (behaviour === 'reset') {
      req.socket.destroy();
      return;
    }
    if (behaviour === 'hang') return; // the connection stays open, unanswered, until close()
    const extraHeaders = req.headers['x-fake-answer-headers'];
    if (typeof extraHeaders === 'string') {
      for (const [name, value] of Object.entries(JSON.parse(extraHeaders) as Record<string, string | string[]>)) res.setHeader(name, value);
    }
    const forced = headerInt(req, 'x-fake-status', 0);
    if (forced > 0) return sendJson(res, rec, forced, {});
    if (failure !== null) return sendJson(res, rec, failure, { error: 'simulated failure' });
    await route(ctx(), req, res, rec, path);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    host: `127.0.0.1:${port}`,
    requests,
    events,
    setModels(list) {
      models = list.map(normaliseModel);
    },
    setFailure(status) {
      failure = status;
    },
    setBehaviour(b) {
      behaviour = b;
    },
    setLoaded(list) {
      loadedSet.clear();
      for (const m of list) loadedSet.add(normaliseModel(m));
    },
    loaded: () => [...loadedSet],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Ctx {
  models: string[];
  promptTokens: number;
  version: string;
  blobs: Set<string>;
  opts: FakeOllamaOptions;
  port: number;
  loaded: Set<string>;
}

/** JSON as Go's encoding/json writes it: `<`, `>`, `&` (and U+2028/9) as \u escapes. */
function goJson(body: unknown): string {
  return JSON.stringify(body).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sendJson(res: http.ServerResponse, rec: RecordedRequest, status: number, body: unknown, head = false): void {
  const text = Buffer.from(goJson(body));
  rec.status = status;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': text.length });
  // HEAD: Go's net/http still sends the Content-Length of the body the handler wrote
  if (head) {
    res.end();
    return;
  }
  rec.bytesSent += text.length;
  res.end(text);
}

function parseBody(rec: RecordedRequest): Record<string, unknown> {
  if (rec.body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(rec.body.toString('utf8'));
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function headerInt(req: http.IncomingMessage, name: string, fallback: number): number {
  const v = req.headers[name];
  const n = typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Writes one chunk, waiting for 'drain' when the reader is slow — as Go's http server blocks. */
async function writeChunk(res: http.ServerResponse, rec: RecordedRequest, text: string): Promise<boolean> {
  if (res.destroyed) return false;
  const buf = Buffer.from(text);
  rec.bytesSent += buf.length;
  if (!res.write(buf)) {
    rec.drainWaits++;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  return !res.destroyed;
}

function modelNotFound(res: http.ServerResponse, rec: RecordedRequest, model: string): void {
  sendJson(res, rec, 404, { error: `model "${model}" not found, try pulling it first` });
}

function hasModel(ctx: Ctx, model: unknown): model is string {
  return typeof model === 'string' && ctx.models.includes(normaliseModel(model));
}

function tagEntry(name: string, i: number): Record<string, unknown> {
  return {
    name,
    model: name,
    modified_at: '2026-01-01T00:00:00Z',
    size: 2_019_393_189 + i,
    digest: DIGEST,
    details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
  };
}

async function route(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest, path: string): Promise<void> {
  const method = req.method ?? 'GET';
  const body = parseBody(rec);
  const key = `${method} ${path}`;
  if (key === 'GET /' || key === 'HEAD /') {
    rec.status = 200;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Ollama is running');
    return;
  }
  if (key === 'GET /api/version' || key === 'HEAD /api/version') return sendJson(res, rec, 200, { version: ctx.version });
  if (key === 'GET /api/tags' || key === 'HEAD /api/tags') {
    return sendJson(res, rec, 200, { models: ctx.models.map((m, i) => ({ ...tagEntry(m, i), ...ctx.opts.tagExtra })) }, method === 'HEAD');
  }
  if (key === 'GET /api/ps') {
    const running = [...ctx.loaded].map((m, i) => ({ ...tagEntry(m, i), expires_at: '2026-12-31T00:00:00Z', size_vram: 2_019_393_189 }));
    return sendJson(res, rec, 200, { models: running });
  }
  if (key === 'POST /api/show') {
    const model = body.model ?? body.name;
    if (!hasModel(ctx, model)) return modelNotFound(res, rec, String(model));
    return sendJson(res, rec, 200, {
      modelfile: `FROM ${model}`,
      parameters: 'stop "<|eot_id|>"',
      template: '{{ .Prompt }}',
      details: tagEntry(normaliseModel(model), 0).details,
      model_info: { 'general.architecture': 'llama' },
      capabilities: ['completion'],
    });
  }
  if (key === 'POST /api/generate' || key === 'POST /api/chat') return generate(ctx, req, res, rec, body, path === '/api/chat');
  if (key === 'POST /api/embed' || key === 'POST /api/embeddings') {
    if (!hasModel(ctx, body.model)) return modelNotFound(res, rec, String(body.model));
    if (path === '/api/embeddings') return sendJson(res, rec, 200, { embedding: [0.5670403838157654, 0.009260174818336964, 0.23178744316101074] });
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    return sendJson(res, rec, 200, {
      model: body.model,
      embeddings: inputs.map(() => [0.010071029, -0.0017594862, 0.05007221]),
      total_duration: 14143917,
      load_duration: 1019500,
      prompt_eval_count: ctx.promptTokens,
    });
  }
  if (key === 'POST /api/pull' || key === 'POST /api/push' || key === 'POST /api/create') return statusStream(ctx, req, res, rec, body, path);
  if (key === 'POST /api/copy') {
    if (!hasModel(ctx, body.source)) return modelNotFound(res, rec, String(body.source));
    if (typeof body.destination === 'string') ctx.models.push(normaliseModel(body.destination));
    rec.status = 200;
    res.writeHead(200).end();
    return;
  }
  if (key === 'DELETE /api/delete') {
    const model = body.model ?? body.name;
    if (!hasModel(ctx, model)) return modelNotFound(res, rec, String(model));
    ctx.models.splice(ctx.models.indexOf(normaliseModel(model)), 1);
    rec.status = 200;
    res.writeHead(200).end();
    return;
  }
  if (path.startsWith('/api/blobs/') && (method === 'HEAD' || method === 'POST')) {
    const digest = decodeURIComponent(path.slice('/api/blobs/'.length));
    rec.status = method === 'POST' ? 201 : ctx.blobs.has(digest) ? 200 : 404;
    if (method === 'POST') ctx.blobs.add(digest);
    res.writeHead(rec.status).end();
    return;
  }
  if (path.startsWith('/v1/')) return openai(ctx, req, res, rec, body, method, path);
  rec.status = 404;
  res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
}

/**
 * The time a chunk is made, as Ollama writes it (Go's RFC 3339 with sub-second digits, per chunk):
 * microseconds here, from the wall clock every process on the machine shares, so a client can
 * tell how long a chunk took to reach it (bench/chunk-latency.ts).
 */
export function createdAt(): string {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const micros = String(Math.floor((ms - whole) * 1000)).padStart(3, '0');
  return `${new Date(whole).toISOString().slice(0, -1)}${micros}Z`;
}

async function generate(
  ctx: Ctx,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rec: RecordedRequest,
  body: Record<string, unknown>,
  chat: boolean,
): Promise<void> {
  const model = body.model;
  if (!hasModel(ctx, model)) return modelNotFound(res, rec, String(model));
  ctx.loaded.add(normaliseModel(model));
  const chunks = headerInt(req, 'x-fake-chunks', ctx.opts.chunks ?? 5);
  const delay = ctx.opts.fast ? 0 : headerInt(req, 'x-fake-delay-ms', ctx.opts.delayMs ?? 20);
  const pad = 'x'.repeat(headerInt(req, 'x-fake-pad-bytes', 0));
  const piece = (i: number): Record<string, unknown> =>
    chat
      ? { model, created_at: createdAt(), message: { role: 'assistant', content: `tok${i}${pad}` }, done: false }
      : { model, created_at: createdAt(), response: `tok${i}${pad}`, done: false };
  const final = (text: string): Record<string, unknown> => ({
    model,
    created_at: createdAt(),
    ...(chat ? { message: { role: 'assistant', content: text } } : { response: text }),
    done: true,
    done_reason: 'stop',
    ...(chat ? {} : { context: [1, 2, 3] }),
    total_duration: 10706818083,
    load_duration: 6338219291,
    prompt_eval_count: ctx.promptTokens,
    prompt_eval_duration: 130079000,
    eval_count: chunks,
    eval_duration: 4232710000,
  });
  if (body.stream === false) {
    if (delay > 0) await sleep(delay * chunks);
    return sendJson(res, rec, 200, final(Array.from({ length: chunks }, (_, i) => `tok${i}`).join('')));
  }
  rec.status = 200;
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const dieAfter = headerInt(req, 'x-fake-die-after', Number.POSITIVE_INFINITY);
  // Lines are due at fixed times from the first (start + i × delay), not `delay` after the last
  // write: slept relatively, each stream drifts by its own write time and 200 slow streams bunch
  // up into bursts, which the benchmark would then measure instead of the proxy.
  const start = performance.now();
  for (let i = 0; i < chunks; i++) {
    if (i >= dieAfter) {
      res.destroy();
      return;
    }
    if (!(await writeChunk(res, rec, JSON.stringify(piece(i)) + '\n'))) return;
    if (delay > 0) await sleep(Math.max(0, start + (i + 1) * delay - performance.now()));
    if (res.destroyed) return;
  }
  await writeChunk(res, rec, JSON.stringify(final('')) + '\n');
  res.end();
}

async function statusStream(
  ctx: Ctx,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rec: RecordedRequest,
  body: Record<string, unknown>,
  path: string,
): Promise<void> {
  const model = body.model ?? body.name;
  const delay = ctx.opts.fast ? 0 : headerInt(req, 'x-fake-delay-ms', ctx.opts.delayMs ?? 20);
  const lines: Record<string, unknown>[] =
    path === '/api/pull'
      ? [
          { status: 'pulling manifest' },
          { status: `pulling ${DIGEST.slice(0, 12)}`, digest: `sha256:${DIGEST}`, total: 2142590208, completed: 241970 },
          { status: `pulling ${DIGEST.slice(0, 12)}`, digest: `sha256:${DIGEST}`, total: 2142590208, completed: 2142590208 },
          { status: 'verifying sha256 digest' },
          { status: 'writing manifest' },
          { status: 'success' },
        ]
      : path === '/api/push'
        ? [{ status: 'retrieving manifest' }, { status: 'starting upload', digest: `sha256:${DIGEST}`, total: 1928429856 }, { status: 'pushing manifest' }, { status: 'success' }]
        : [{ status: 'reading model metadata' }, { status: 'creating system layer' }, { status: 'writing manifest' }, { status: 'success' }];
  if (path !== '/api/push' && typeof model === 'string') ctx.models.push(normaliseModel(model));
  if (body.stream === false) return sendJson(res, rec, 200, { status: 'success' });
  rec.status = 200;
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (const line of lines) {
    if (!(await writeChunk(res, rec, JSON.stringify(line) + '\n'))) return;
    if (delay > 0) await sleep(delay);
  }
  res.end();
}

async function openai(
  ctx: Ctx,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rec: RecordedRequest,
  body: Record<string, unknown>,
  method: string,
  path: string,
): Promise<void> {
  const created = 1_767_225_600;
  const notFound = (model: unknown): void =>
    sendJson(res, rec, 404, { error: { message: `model "${String(model)}" not found, try pulling it first`, type: 'api_error', param: null, code: null } });
  if (method === 'GET' && path === '/v1/models') {
    return sendJson(res, rec, 200, { object: 'list', data: ctx.models.map((id) => ({ id, object: 'model', created, owned_by: 'library' })) });
  }
  if (method === 'GET' && path.startsWith('/v1/models/')) {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    if (!hasModel(ctx, id)) return notFound(id);
    return sendJson(res, rec, 200, { id, object: 'model', created, owned_by: 'library' });
  }
  if (method !== 'POST') {
    rec.status = 404;
    res.writeHead(404).end();
    return;
  }
  const model = body.model;
  if (!hasModel(ctx, model)) return notFound(model);
  const chunks = headerInt(req, 'x-fake-chunks', ctx.opts.chunks ?? 5);
  const usage = { prompt_tokens: ctx.promptTokens, completion_tokens: chunks, total_tokens: ctx.promptTokens + chunks };
  if (path === '/v1/embeddings') {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    return sendJson(res, rec, 200, {
      object: 'list',
      data: inputs.map((_, index) => ({ object: 'embedding', embedding: [0.010071029, -0.0017594862], index })),
      model,
      usage: { prompt_tokens: ctx.promptTokens, total_tokens: ctx.promptTokens },
    });
  }
  const chat = path === '/v1/chat/completions';
  if (!chat && path !== '/v1/completions') {
    rec.status = 404;
    res.writeHead(404).end();
    return;
  }
  const base = { id: 'chatcmpl-123', object: chat ? 'chat.completion' : 'text_completion', created, model, system_fingerprint: 'fp_ollama' };
  const text = Array.from({ length: chunks }, (_, i) => `tok${i}`).join('');
  if (body.stream !== true) {
    const choice = chat ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' } : { index: 0, text, finish_reason: 'stop' };
    return sendJson(res, rec, 200, { ...base, choices: [choice], usage });
  }
  const delay = ctx.opts.fast ? 0 : headerInt(req, 'x-fake-delay-ms', ctx.opts.delayMs ?? 20);
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  const so = body.stream_options as { include_usage?: unknown } | undefined;
  const includeUsage = so?.include_usage === true;
  rec.status = 200;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const event = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
  for (let i = 0; i <= chunks; i++) {
    const last = i === chunks;
    const choice = chat
      ? { index: 0, delta: last ? {} : { role: 'assistant', content: `tok${i}` }, finish_reason: last ? 'stop' : null }
      : { index: 0, text: last ? '' : `tok${i}`, finish_reason: last ? 'stop' : null };
    if (!(await writeChunk(res, rec, event({ ...base, object, choices: [choice] })))) return;
    if (delay > 0 && !last) await sleep(delay);
  }
  if (includeUsage) await writeChunk(res, rec, event({ ...base, object, choices: [], usage }));
  await writeChunk(res, rec, 'data: [DONE]\n\n');
  res.end();
}
