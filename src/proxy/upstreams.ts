// The Ollama servers Warden forwards to (docs/design.md §5). One undici Pool per upstream, built once at
// start-up and kept alive, so the request path only picks a pool and dispatches on it.
//
// With several upstreams each is health-checked (GET /api/version) and asked which models are in
// memory (GET /api/ps) every few seconds, and its model list (GET /api/tags) refreshed less often.
// pick() prefers, among healthy upstreams, one where the model is already loaded (loading a model
// into GPU memory takes seconds to minutes), then one that has it on disk, then any — least
// in-flight first within each tier. Health checks use their own one-connection Client so that a
// pool saturated by long generations does not make a busy upstream look dead. A failed probe also
// fails the requests still waiting for that upstream's response head, so forward() can send
// them elsewhere (a hung box).
import { Client, Pool } from './undici-core.ts';
import { configError } from '../errors.ts';
import { UpstreamDeadError } from './upstream-error.ts';
import { modelKey } from '../policy/model-name.ts';

export interface UpstreamsOptions {
  /** Most connections per upstream. Default 1024: every stream holds one for its whole life, and
   *  Ollama queues requests itself (OLLAMA_MAX_QUEUE), so a lower cap here only adds latency
   *  (measured: 200 slow streams doubled p99 with 128). */
  connections?: number;
  /** Give up connecting after this long; the client then gets 502 quickly. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** Keep idle connections to Ollama this long. Default 30 s. */
  keepAliveTimeoutMs?: number;
  /** Longest pause between two chunks of an answer. Default (and minimum) 10 minutes: long generations are normal. */
  bodyTimeoutMs?: number;
  /** Longest wait for the response head; 0 (default) = none, since a non-streamed generation may take long. */
  headersTimeoutMs?: number;
  /** Health-check interval. Default 5000 ms. Only runs when healthCheck is true. */
  healthIntervalMs?: number;
  /** Model-list refresh interval. Default 30000 ms. */
  modelsIntervalMs?: number;
  /** Timeout of one health probe. Default 2000 ms. */
  probeTimeoutMs?: number;
  /** Run periodic checks. Default: only when there is more than one upstream. */
  healthCheck?: boolean;
}

export interface UpstreamStatus {
  url: string;
  /** null until the first probe or request says either way. */
  reachable: boolean | null;
  version: string | null;
  inFlight: number;
  /** Number of models seen in the last /api/tags, null if never fetched. */
  models: number | null;
  /** Models in memory (last /api/ps, plus what Warden itself just ran there). */
  loaded: string[];
  lastError: string | null;
}

const MIN_BODY_TIMEOUT_MS = 10 * 60 * 1000;

export class Upstream {
  /** The configured URL without trailing slash, e.g. http://127.0.0.1:11434 — used in messages. */
  readonly url: string;
  /** host:port sent as Host to Ollama. */
  readonly host: string;
  readonly dispatcher: Pool;
  readonly probeClient: Client;
  reachable: boolean | null = null;
  version: string | null = null;
  models: Set<string> | null = null;
  /** Models in memory, normalised: from /api/ps, and marked by forward() after a model answered here. */
  loaded = new Set<string>();
  inFlight = 0;
  lastError: string | null = null;
  /** Counters for metrics: failed requests (no answer or cut), and requests moved off this upstream. */
  errors = 0;
  failovers = 0;
  /** Requests sent here that have no response head yet; called when a probe finds the upstream dead. */
  private readonly waiting = new Set<(why: Error) => void>();

  constructor(url: string, pool: Pool, probeClient: Client) {
    const u = new URL(url);
    this.url = u.origin;
    this.host = u.host || `${u.hostname}:${u.protocol === 'https:' ? 443 : 80}`;
    // URL drops a default port from .host; Ollama's Host check accepts either form.
    this.dispatcher = pool;
    this.probeClient = probeClient;
  }

  /** Called by forward() around each request: in-flight counts steer least-loaded routing. */
  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
  }

  /** Passive health: a failed connect marks the upstream down until the next good probe or request. */
  markUnreachable(err: unknown): void {
    this.reachable = false;
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  markReachable(): void {
    this.reachable = true;
    this.lastError = null;
  }

  hasModel(model: string): boolean {
    // The same reading of a name as the policy's (model-name.ts): `Llama3.2`, `llama3.2` and
    // `registry.ollama.ai/library/llama3.2:latest` are one model here too.
    const key = modelKey(model);
    return key !== null && (this.models?.has(key) ?? false);
  }

  isLoaded(model: string): boolean {
    const key = modelKey(model);
    return key !== null && this.loaded.has(key);
  }

  /** A model answered from here, so Ollama has it in memory now (until the next /api/ps says otherwise). */
  markLoaded(model: string): void {
    const n = modelKey(model);
    if (n === null) return;
    this.loaded.add(n);
    this.models?.add(n);
  }

  /** forward() registers a request until its response head arrives; the returned function unregisters it. */
  awaitHead(onDead: (why: Error) => void): () => void {
    this.waiting.add(onDead);
    return () => this.waiting.delete(onDead);
  }

  /** The health probe found this upstream dead or hung: fail every request still waiting on it. */
  failWaiting(why: Error): void {
    const all = [...this.waiting];
    this.waiting.clear();
    for (const f of all) f(why);
  }

  status(): UpstreamStatus {
    return {
      url: this.url,
      reachable: this.reachable,
      version: this.version,
      inFlight: this.inFlight,
      models: this.models?.size ?? null,
      loaded: [...this.loaded],
      lastError: this.lastError,
    };
  }
}

export interface Upstreams {
  readonly list: readonly Upstream[];
  /** A healthy upstream with `model` loaded, else one with it on disk, else any healthy one, else
   *  any at all (least in-flight within each tier). Never throws. */
  pick(model: string | null): Upstream;
  /** Where to retry a request that failed before its answer began on the upstreams in `tried`:
   *  another healthy upstream that has `model` (any other healthy one when no model is named), or null. */
  pickOther(model: string | null, tried: readonly Upstream[]): Upstream | null;
  /** True when `model` is known only to upstreams that are down (several upstreams only): the
   *  request is answered 503 rather than sent to a box that would say "model not found". */
  onlyOnUnhealthy(model: string): boolean;
  /** The healthy upstreams (all of them when none is known healthy), for merged model lists. */
  healthy(): Upstream[];
  /** Last known state, without network traffic. */
  status(): UpstreamStatus[];
  /** Checks every upstream now (version and models) and returns the fresh state — for `warden status`. */
  probe(): Promise<UpstreamStatus[]>;
  /** Stops health checks and closes the pools; requests still running after `graceMs` (default 5000) are cut. */
  close(graceMs?: number): Promise<void>;
}

async function getJson(client: Client, path: string, timeoutMs: number): Promise<unknown> {
  const { statusCode, body } = await client.request({ path, method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`GET ${path} answered ${statusCode}`);
  }
  return body.json();
}

async function checkVersion(up: Upstream, timeoutMs: number): Promise<void> {
  try {
    const v = (await getJson(up.probeClient, '/api/version', timeoutMs)) as { version?: unknown };
    up.version = typeof v.version === 'string' ? v.version : null;
    up.markReachable();
  } catch (err) {
    up.markUnreachable(err);
    up.failWaiting(new UpstreamDeadError(`upstream Ollama at ${up.url} failed its health check: ${up.lastError ?? 'no answer'}`));
  }
}

async function refreshLoaded(up: Upstream, timeoutMs: number): Promise<void> {
  try {
    const ps = (await getJson(up.probeClient, '/api/ps', timeoutMs)) as { models?: { name?: unknown; model?: unknown }[] };
    const names = new Set<string>();
    for (const m of ps.models ?? []) {
      const name = typeof m.model === 'string' ? m.model : m.name;
      const key = modelKey(name);
      if (key !== null) names.add(key);
    }
    up.loaded = names;
  } catch {
    // keep what we knew: affinity is a preference, never a reason to fail
  }
}

async function refreshModels(up: Upstream, timeoutMs: number): Promise<void> {
  try {
    const tags = (await getJson(up.probeClient, '/api/tags', timeoutMs)) as { models?: { name?: unknown; model?: unknown }[] };
    const names = new Set<string>();
    for (const m of tags.models ?? []) {
      const name = typeof m.model === 'string' ? m.model : m.name;
      const key = modelKey(name);
      if (key !== null) names.add(key);
    }
    up.models = names;
  } catch {
    // keep the previous list: a slow /api/tags should not make routing forget every model
  }
}

export function createUpstreams(urls: string[], opts: UpstreamsOptions = {}): Upstreams {
  if (urls.length === 0) throw configError('upstreams', 'at least one upstream URL is needed');
  const bodyTimeout = Math.max(opts.bodyTimeoutMs ?? MIN_BODY_TIMEOUT_MS, MIN_BODY_TIMEOUT_MS);
  const connectTimeout = opts.connectTimeoutMs ?? 3000;
  const probeTimeout = opts.probeTimeoutMs ?? 2000;
  const list = urls.map((url) => {
    const origin = new URL(url).origin;
    const pool = new Pool(origin, {
      connections: opts.connections ?? 1024,
      pipelining: 1,
      connectTimeout,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
      keepAliveMaxTimeout: 10 * 60 * 1000,
      headersTimeout: opts.headersTimeoutMs ?? 0,
      bodyTimeout,
    });
    const probe = new Client(origin, { pipelining: 1, connectTimeout: Math.min(connectTimeout, probeTimeout), headersTimeout: probeTimeout, bodyTimeout: probeTimeout });
    return new Upstream(url, pool, probe);
  });

  let rotation = 0;
  let checking: Promise<void> | null = null;
  let lastModelsAt = 0;
  const modelsInterval = opts.modelsIntervalMs ?? 30_000;

  const checkAll = (forceModels: boolean): Promise<void> => {
    checking ??= (async () => {
      const now = Date.now();
      const refresh = forceModels || now - lastModelsAt >= modelsInterval;
      if (refresh) lastModelsAt = now;
      await Promise.all(
        list.map(async (up) => {
          const wasDown = up.reachable !== true;
          await checkVersion(up, probeTimeout);
          // a server that just came back may have a different model list
          if (up.reachable && (refresh || wasDown || up.models === null)) await refreshModels(up, probeTimeout);
          if (up.reachable) await refreshLoaded(up, probeTimeout);
        }),
      );
    })().finally(() => {
      checking = null;
    });
    return checking;
  };

  const timers: NodeJS.Timeout[] = [];
  if (opts.healthCheck ?? list.length > 1) {
    void checkAll(true);
    const t = setInterval(() => void checkAll(false), opts.healthIntervalMs ?? 5000);
    t.unref();
    timers.push(t);
  }

  /** Least in-flight among `candidates`; ties go round-robin so equal servers share the load. */
  const leastLoaded = (candidates: Upstream[]): Upstream | undefined => {
    let best: Upstream | undefined;
    const n = candidates.length;
    if (n === 0) return undefined;
    // advanced only when choosing among several, so each pick moves the rotation on by exactly one
    const start = n === 1 ? 0 : rotation++ % n;
    for (let i = 0; i < n; i++) {
      const c = candidates[(start + i) % n] as Upstream;
      if (best === undefined || c.inFlight < best.inFlight) best = c;
    }
    return best;
  };

  /** Loaded first, then on disk, then any; least in-flight within the tier. */
  const best = (candidates: Upstream[], model: string | null): Upstream | undefined => {
    if (model !== null) {
      const loaded = leastLoaded(candidates.filter((u) => u.isLoaded(model)));
      if (loaded) return loaded;
      const onDisk = leastLoaded(candidates.filter((u) => u.hasModel(model)));
      if (onDisk) return onDisk;
    }
    return leastLoaded(candidates);
  };

  return {
    list,
    pick(model) {
      if (list.length === 1) return list[0] as Upstream;
      return best(list.filter((u) => u.reachable !== false), model) ?? leastLoaded(list) ?? (list[0] as Upstream);
    },
    pickOther(model, tried) {
      const others = list.filter((u) => u.reachable !== false && !tried.includes(u));
      if (model === null) return best(others, null) ?? null;
      // a model list not fetched yet is no evidence against the upstream
      return best(others.filter((u) => u.models === null || u.hasModel(model)), model) ?? null;
    },
    onlyOnUnhealthy(model) {
      if (list.length === 1) return false;
      let onDown = false;
      for (const u of list) {
        if (!u.hasModel(model)) continue;
        if (u.reachable !== false) return false;
        onDown = true;
      }
      return onDown;
    },
    healthy() {
      const up = list.filter((u) => u.reachable !== false);
      return up.length > 0 ? up : [...list];
    },
    status: () => list.map((u) => u.status()),
    async probe() {
      await checkAll(true);
      return list.map((u) => u.status());
    },
    async close(graceMs = 5000) {
      for (const t of timers) clearInterval(t);
      const closing = Promise.all(list.flatMap((u) => [u.dispatcher.close(), u.probeClient.close()]));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), graceMs);
      });
      if ((await Promise.race([closing, late])) === 'late') {
        // close() waits for running streams; past the grace period they are cut
        await Promise.all(list.flatMap((u) => [u.dispatcher.destroy(), u.probeClient.destroy()]));
      }
      clearTimeout(timer);
    },
  };
}
