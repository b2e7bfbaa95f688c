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
import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client';
import { TallyHistogram, type HistogramSeries } from './tally-histogram.ts';
import type { Upstream } from '../proxy/upstreams.ts';

/** Distinct model labels before the rest are counted as "other". */
export const MAX_MODELS = 100;
/** Distinct key-id labels before the rest are counted as "other". */
export const MAX_KEYS = 1000;
export const OTHER = 'other';
const STATUS_CLASS = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

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

/** What a finished request adds to a key's series. */
interface KeySeries {
  labels: { key_id: string };
  requests: number;
  tokens: number;
  refusals: number;
}

/** What a finished request adds to a model's series (its histograms stay prom-client's). */
interface ModelSeries {
  labels: { model: string };
  requests: number;
  promptTokens: number;
  evalTokens: number;
  ttft: HistogramSeries<'model'>;
  rate: HistogramSeries<'model'>;
}

/** One labelled count. */
interface Tally<L> {
  labels: L;
  n: number;
}

import type { AuditStats } from '../audit/writer.ts';

// The request path counts in plain numbers and prom-client reads them when scraped (collect):
// prom-client hashes and checks the label object on every inc(), also through labels() children,
// and a streamed request bumped a dozen series (~3 µs). The histograms are counted the same way
// (tally-histogram.ts).
export class Metrics {
  readonly registry = new Registry();
  private readonly duration: HistogramSeries<never>;
  private readonly durationHistogram: TallyHistogram;
  private readonly modelTtft: TallyHistogram<'model'>;
  private readonly modelRate: TallyHistogram<'model'>;
  /** by status class and method (Node's parser knows ~34 methods) */
  private readonly requestCounts = new Map<string, Tally<{ status_class: string; method: string }>>();
  /** by refusal code (a fixed set) */
  private readonly refusalCounts = new Map<string, Tally<{ reason: string }>>();
  private readonly tokenCounts = { prompt: 0, eval: 0 };
  /** the first MAX_KEYS key ids; later ones count under OTHER */
  private readonly keySeries = new Map<string, KeySeries>();
  private readonly otherKey: KeySeries = { labels: { key_id: OTHER }, requests: 0, tokens: 0, refusals: 0 };
  /** the first MAX_MODELS model names; later ones count under OTHER */
  private readonly modelSeries = new Map<string, ModelSeries>();
  private readonly otherModel: ModelSeries;

  constructor(gauges: { connections: () => number; keys: () => { active: number; revoked: number; expired: number }; upstreams?: () => readonly Upstream[]; audit?: () => AuditStats }) {
    // prom-client's default names already start with process_ / nodejs_: prefix `warden_` only
    // (the old `warden_process_` prefix made `warden_process_process_cpu_seconds_total`).
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_' });
    const registers = [this.registry];
    const { requestCounts, refusalCounts, tokenCounts, keySeries, otherKey, modelSeries } = this;
    /** A counter whose values are the tallies' (set at each scrape). */
    const counted = <L extends string>(name: string, help: string, labelNames: L[], fill: (add: (labels: Partial<Record<L, string>>, n: number) => void) => void): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill((labels, n) => {
            if (n > 0) this.inc(labels, n);
          });
        },
      });
    };
    counted('warden_requests_total', 'Requests answered, by status class', ['status_class', 'method'], (add) => {
      for (const t of requestCounts.values()) add(t.labels, t.n);
    });
    counted('warden_refusals_total', 'Requests refused by Warden, by reason code', ['reason'], (add) => {
      for (const t of refusalCounts.values()) add(t.labels, t.n);
    });
    this.durationHistogram = new TallyHistogram({
      name: 'warden_request_duration_seconds',
      help: 'Time from request to the end of the answer (streams included)',
      buckets: [0.005, 0.025, 0.1, 0.5, 2, 10, 60, 300],
      registers,
    });
    this.duration = this.durationHistogram.series({});
    counted('warden_tokens_total', 'Tokens reported by Ollama', ['kind'], (add) => {
      add({ kind: 'prompt' }, tokenCounts.prompt);
      add({ kind: 'eval' }, tokenCounts.eval);
    });
    const models = (): ModelSeries[] => [...modelSeries.values(), this.otherModel];
    counted('warden_model_requests_total', `Requests naming a model (at most ${MAX_MODELS} models, then "other")`, ['model'], (add) => {
      for (const m of models()) add(m.labels, m.requests);
    });
    counted('warden_model_tokens_total', 'Tokens reported by Ollama, by model and kind (prompt, eval)', ['model', 'kind'], (add) => {
      for (const m of models()) {
        add({ model: m.labels.model, kind: 'prompt' }, m.promptTokens);
        add({ model: m.labels.model, kind: 'eval' }, m.evalTokens);
      }
    });
    this.modelTtft = new TallyHistogram<'model'>({
      name: 'warden_model_time_to_first_byte_seconds',
      help: "Time from forwarding to Ollama's first answer byte (the first token of a stream; model loading included)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.modelRate = new TallyHistogram<'model'>({
      name: 'warden_model_tokens_per_second',
      help: 'Generated (eval) tokens per second of streaming, per request',
      buckets: [1, 5, 10, 20, 40, 80, 160, 320],
      registers,
    });
    this.otherModel = this.makeModelSeries(OTHER);
    const keys = (): KeySeries[] => [...keySeries.values(), otherKey];
    counted('warden_key_requests_total', `Authenticated requests by key id (at most ${MAX_KEYS} keys, then "other")`, ['key_id'], (add) => {
      for (const k of keys()) add(k.labels, k.requests);
    });
    counted('warden_key_tokens_total', 'Tokens (prompt + eval) by key id', ['key_id'], (add) => {
      for (const k of keys()) add(k.labels, k.tokens);
    });
    counted('warden_key_refusals_total', 'Requests of an authenticated key that Warden refused (scope, model, limits, policy)', ['key_id'], (add) => {
      for (const k of keys()) add(k.labels, k.refusals);
    });
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

  observe(method: string, status: number, durationMs: number, refusedCode: string | null, promptTokens: number | null, evalTokens: number | null): void {
    const statusClass = STATUS_CLASS[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`;
    const id = statusClass + method;
    let req = this.requestCounts.get(id);
    if (!req) this.requestCounts.set(id, (req = { labels: { status_class: statusClass, method }, n: 0 }));
    req.n++;
    this.durationHistogram.observe(this.duration, durationMs / 1000);
    if (refusedCode) {
      let ref = this.refusalCounts.get(refusedCode);
      if (!ref) this.refusalCounts.set(refusedCode, (ref = { labels: { reason: refusedCode }, n: 0 }));
      ref.n++;
    }
    if (promptTokens) this.tokenCounts.prompt += promptTokens;
    if (evalTokens) this.tokenCounts.eval += evalTokens;
  }

  /** Per-model and per-key series of one finished request (authenticated requests only). */
  observeRequest(s: RequestSample): void {
    const tokens = (s.promptTokens ?? 0) + (s.evalTokens ?? 0);
    if (s.keyId !== null) {
      const k = this.keySeries.get(s.keyId) ?? this.newKeySeries(s.keyId);
      k.requests++;
      if (s.refused) k.refusals++;
      if (tokens > 0) k.tokens += tokens;
    }
    if (s.model === null || s.refused) return;
    const m = this.modelSeries.get(s.model) ?? this.newModelSeries(s.model);
    m.requests++;
    if (s.promptTokens) m.promptTokens += s.promptTokens;
    if (s.evalTokens) m.evalTokens += s.evalTokens;
    if (s.firstByteMs !== null) this.modelTtft.observe(m.ttft, s.firstByteMs / 1000);
    if (s.evalTokens && s.streamMs !== null && s.streamMs > 0) this.modelRate.observe(m.rate, s.evalTokens / (s.streamMs / 1000));
  }

  private newKeySeries(keyId: string): KeySeries {
    if (keyId === OTHER || this.keySeries.size >= MAX_KEYS) return this.otherKey;
    const k: KeySeries = { labels: { key_id: keyId }, requests: 0, tokens: 0, refusals: 0 };
    this.keySeries.set(keyId, k);
    return k;
  }

  private newModelSeries(model: string): ModelSeries {
    // a model named "other" shares the overflow series (one series per label set)
    if (model === OTHER || this.modelSeries.size >= MAX_MODELS) return this.otherModel;
    const m = this.makeModelSeries(model);
    this.modelSeries.set(model, m);
    return m;
  }

  private makeModelSeries(model: string): ModelSeries {
    const labels = { model };
    return { labels, requests: 0, promptTokens: 0, evalTokens: 0, ttft: this.modelTtft.series(labels), rate: this.modelRate.series(labels) };
  }
}
