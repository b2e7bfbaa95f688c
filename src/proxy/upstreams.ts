// The Ollama servers Warden forwards to (docs/design.md §5). One undici Pool per upstream, built
// once at start-up and kept alive, so the request path only picks a pool and dispatches on it
// (upstream.ts). With several upstreams each is health-checked (upstream-health.ts) and requests
// go where their model is loaded, then where it is on disk, least in flight first
// (upstream-picker.ts).
import { Client, Pool } from './undici-core.ts';
import { configError } from '../errors.ts';
import { Upstream, type UpstreamStatus } from './upstream.ts';
import { HealthChecks } from './upstream-health.ts';
import { UpstreamPicker } from './upstream-picker.ts';

// The pool's members are part of what this module hands out (forward.ts, model lists, metrics).
export { Upstream, type UpstreamStatus } from './upstream.ts';

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

const MIN_BODY_TIMEOUT_MS = 10 * 60 * 1000;

export function createUpstreams(urls: string[], opts: UpstreamsOptions = {}): Upstreams {
  if (urls.length === 0) throw configError('upstreams', 'at least one upstream URL is needed');
  const probeTimeoutMs = opts.probeTimeoutMs ?? 2000;
  const list = urls.map((url) => connect(url, opts, probeTimeoutMs));
  const health = new HealthChecks(list, { probeTimeoutMs, modelsIntervalMs: opts.modelsIntervalMs ?? 30_000 });
  if (opts.healthCheck ?? list.length > 1) health.start(opts.healthIntervalMs ?? 5000);
  const picker = new UpstreamPicker(list);
  return {
    list,
    pick: (model) => picker.pick(model),
    pickOther: (model, tried) => picker.pickOther(model, tried),
    onlyOnUnhealthy: (model) => picker.onlyOnUnhealthy(model),
    healthy: () => picker.healthy(),
    status: () => list.map((u) => u.status()),
    async probe() {
      await health.checkAll(true);
      return list.map((u) => u.status());
    },
    async close(graceMs = 5000) {
      health.stop();
      await closePools(list, graceMs);
    },
  };
}

/** The upstream's pool and its health probe's own client. */
function connect(url: string, opts: UpstreamsOptions, probeTimeoutMs: number): Upstream {
  const origin = new URL(url).origin;
  const connectTimeout = opts.connectTimeoutMs ?? 3000;
  const pool = new Pool(origin, {
    connections: opts.connections ?? 1024,
    pipelining: 1,
    connectTimeout,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    keepAliveMaxTimeout: 10 * 60 * 1000,
    headersTimeout: opts.headersTimeoutMs ?? 0,
    bodyTimeout: Math.max(opts.bodyTimeoutMs ?? MIN_BODY_TIMEOUT_MS, MIN_BODY_TIMEOUT_MS),
  });
  const probe = new Client(origin, { pipelining: 1, connectTimeout: Math.min(connectTimeout, probeTimeoutMs), headersTimeout: probeTimeoutMs, bodyTimeout: probeTimeoutMs });
  return new Upstream(url, pool, probe);
}

/** close() waits for running streams; past the grace period they are cut. */
async function closePools(list: readonly Upstream[], graceMs: number): Promise<void> {
  const closing = Promise.all(list.flatMap((u) => [u.dispatcher.close(), u.probeClient.close()]));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  if ((await Promise.race([closing, late])) === 'late') {
    await Promise.all(list.flatMap((u) => [u.dispatcher.destroy(), u.probeClient.destroy()]));
  }
  clearTimeout(timer);
}
