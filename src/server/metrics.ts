// Prometheus metrics at /_warden/metrics (scope `admin` or `metrics`). Counters are bumped
// once per finished request from the audit path, so the request path pays a few increments.
//
// Fleet series: per upstream (up, in flight, errors, failovers — read from the
// Upstream objects when scraped), per model (requests, tokens, time to first token, tokens/s) and
// per key id (requests, tokens, refusals). Label cardinality is bounded: upstreams are the
// configured ones; at most MAX_MODELS model names and MAX_KEYS key ids get series of their own,
// later ones are counted under "other" (a client naming random models cannot grow the registry
// without bound, and model names come from request bodies). Each instance of a fleet exports its
// own counts: sum them in Prometheus (sum by (model) (...)).
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { Upstream } from '../proxy/upstreams.ts';

/** Distinct model labels before the rest are counted as "other". */
export const MAX_MODELS = 100;
/** Distinct key-id labels before the rest are counted as "other". */
export const MAX_KEYS = 1000;
export const OTHER = 'other';

/** What a finished request adds to the per-model and per-key series. */
export interface RequestSample {
  model: string | null;
  keyId: string | null;
  refused: boolean;
  promptTokens: number | null;
  evalTokens: number | null;
  /** ms from sending to Ollama to the first byte of its answer */
  firstByteMs: number | null;
  /** ms from the first byte to the end of the answer */
  streamMs: number | null;
}

/** A label value from a bounded set: the first `max` distinct values, then OTHER. */
class BoundedLabel {
  private readonly seen = new Set<string>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(v);
    return v;
  }
}
import type { AuditStats } from '../audit/writer.ts';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'status_class' | 'method'>;
  private readonly refusals: Counter<'reason'>;
  private readonly duration: Histogram;
  private readonly tokens: Counter<'kind'>;
  private readonly modelRequests: Counter<'model'>;
  private readonly modelTokens: Counter<'model' | 'kind'>;
  private readonly modelTtft: Histogram<'model'>;
  private readonly modelRate: Histogram<'model'>;
  private readonly keyRequests: Counter<'key_id'>;
  private readonly keyTokens: Counter<'key_id'>;
  private readonly keyRefusals: Counter<'key_id'>;
  private readonly models = new BoundedLabel(MAX_MODELS);
  private readonly keys = new BoundedLabel(MAX_KEYS);

  constructor(gauges: { connections: () => number; keys: () => { active: number; revoked: number; expired: number }; upstreams?: () => readonly Upstream[]; audit?: () => AuditStats }) {
    // prom-client's default names already start with process_ / nodejs_: prefix `warden_` only
    // (the old `warden_process_` prefix made `warden_process_process_cpu_seconds_total`).
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_' });
    const registers = [this.registry];
    this.requests = new Counter({ name: 'warden_requests_total', help: 'Requests answered, by status class', labelNames: ['status_class', 'method'], registers });
    this.refusals = new Counter({ name: 'warden_refusals_total', help: 'Requests refused by Warden, by reason code', labelNames: ['reason'], registers });
    this.duration = new Histogram({
      name: 'warden_request_duration_seconds',
      help: 'Time from request to the end of the answer (streams included)',
      buckets: [0.005, 0.025, 0.1, 0.5, 2, 10, 60, 300],
      registers,
    });
    this.tokens = new Counter({ name: 'warden_tokens_total', help: 'Tokens reported by Ollama', labelNames: ['kind'], registers });
    this.modelRequests = new Counter({ name: 'warden_model_requests_total', help: `Requests naming a model (at most ${MAX_MODELS} models, then "other")`, labelNames: ['model'], registers });
    this.modelTokens = new Counter({ name: 'warden_model_tokens_total', help: 'Tokens reported by Ollama, by model and kind (prompt, eval)', labelNames: ['model', 'kind'], registers });
    this.modelTtft = new Histogram({
      name: 'warden_model_time_to_first_byte_seconds',
      help: "Time from forwarding to Ollama's first answer byte (the first token of a stream; model loading included)",
      labelNames: ['model'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.modelRate = new Histogram({
      name: 'warden_model_tokens_per_second',
      help: 'Generated (eval) tokens per second of streaming, per request',
      labelNames: ['model'],
      buckets: [1, 5, 10, 20, 40, 80, 160, 320],
      registers,
    });
    this.keyRequests = new Counter({ name: 'warden_key_requests_total', help: `Authenticated requests by key id (at most ${MAX_KEYS} keys, then "other")`, labelNames: ['key_id'], registers });
    this.keyTokens = new Counter({ name: 'warden_key_tokens_total', help: 'Tokens (prompt + eval) by key id', labelNames: ['key_id'], registers });
    this.keyRefusals = new Counter({ name: 'warden_key_refusals_total', help: 'Requests of an authenticated key that Warden refused (scope, model, limits, policy)', labelNames: ['key_id'], registers });
    const audit = gauges.audit;
    if (audit) {
      // The audit writer's bounded queues (docs/keys.md "Audit"): what waits for a sink
      // that fails, and what was dropped because its queue was full.
      new Gauge({
        name: 'warden_audit_queued',
        help: 'Audit events waiting for a sink that is failing (file: disk full; store: unreachable)',
        labelNames: ['sink'],
        registers,
        collect() {
          const s = audit();
          this.set({ sink: 'file' }, s.fileQueued);
          this.set({ sink: 'store' }, s.storeQueued);
        },
      });
      new Counter({
        name: 'warden_audit_dropped_total',
        help: 'Audit events dropped because the queue for a failing sink was full (store: still in the file)',
        labelNames: ['sink'],
        registers,
        collect() {
          const s = audit();
          this.reset();
          this.inc({ sink: 'file' }, s.dropped.file);
          this.inc({ sink: 'store' }, s.dropped.store);
        },
      });
    }
    new Gauge({ name: 'warden_connections', help: 'Open client connections', registers, collect() { this.set(gauges.connections()); } });
    new Gauge({
      name: 'warden_keys',
      help: 'API keys by state',
      labelNames: ['state'],
      registers,
      collect() {
        const c = gauges.keys();
        this.set({ state: 'active' }, c.active);
        this.set({ state: 'revoked' }, c.revoked);
        this.set({ state: 'expired' }, c.expired);
      },
    });
    const ups = gauges.upstreams;
    if (ups) {
      const perUpstream = (name: string, help: string, kind: 'gauge' | 'counter', value: (u: Upstream) => number): void => {
        // counters here are read from the Upstream objects at scrape time, so they are gauges to
        // prom-client but keep Prometheus's _total naming and only ever grow
        new Gauge({
          name,
          help: `${help}${kind === 'counter' ? ' (a counter)' : ''}`,
          labelNames: ['upstream'],
          registers,
          collect() {
            for (const u of ups()) this.set({ upstream: u.url }, value(u));
          },
        });
      };
      perUpstream('warden_upstream_up', 'Upstream reachable at the last health check or request (1), down (0)', 'gauge', (u) => (u.reachable === false ? 0 : 1));
      perUpstream('warden_upstream_in_flight', 'Requests being forwarded to the upstream now', 'gauge', (u) => u.inFlight);
      perUpstream('warden_upstream_errors_total', 'Requests the upstream failed (no answer, or cut mid-answer)', 'counter', (u) => u.errors);
      perUpstream('warden_upstream_failovers_total', 'Requests moved from this upstream to another before any answer byte', 'counter', (u) => u.failovers);
    }
  }

  // prom-client hashes a label object on every inc(); the label-bound children are looked up
  // once per combination instead. Methods are few (Node's parser knows ~34), reason codes fixed.
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly refusalChildren = new Map<string, { inc(): void }>();

  observe(method: string, status: number, durationMs: number, refusedCode: string | null, promptTokens: number | null, evalTokens: number | null): void {
    const statusClass = `${Math.floor(status / 100)}xx`;
    const id = `${statusClass} ${method}`;
    let req = this.requestChildren.get(id);
    if (!req) this.requestChildren.set(id, (req = this.requests.labels({ status_class: statusClass, method })));
    req.inc();
    this.duration.observe(durationMs / 1000);
    if (refusedCode) {
      let ref = this.refusalChildren.get(refusedCode);
      if (!ref) this.refusalChildren.set(refusedCode, (ref = this.refusals.labels({ reason: refusedCode })));
      ref.inc();
    }
    if (promptTokens) this.tokens.inc({ kind: 'prompt' }, promptTokens);
    if (evalTokens) this.tokens.inc({ kind: 'eval' }, evalTokens);
  }

  /** Per-model and per-key series of one finished request (authenticated requests only). */
  observeRequest(s: RequestSample): void {
    const tokens = (s.promptTokens ?? 0) + (s.evalTokens ?? 0);
    if (s.keyId !== null) {
      const key_id = this.keys.get(s.keyId);
      this.keyRequests.inc({ key_id });
      if (s.refused) this.keyRefusals.inc({ key_id });
      if (tokens > 0) this.keyTokens.inc({ key_id }, tokens);
    }
    if (s.model === null || s.refused) return;
    const model = this.models.get(s.model);
    this.modelRequests.inc({ model });
    if (s.promptTokens) this.modelTokens.inc({ model, kind: 'prompt' }, s.promptTokens);
    if (s.evalTokens) this.modelTokens.inc({ model, kind: 'eval' }, s.evalTokens);
    if (s.firstByteMs !== null) this.modelTtft.observe({ model }, s.firstByteMs / 1000);
    if (s.evalTokens && s.streamMs !== null && s.streamMs > 0) this.modelRate.observe({ model }, s.evalTokens / (s.streamMs / 1000));
  }
}
