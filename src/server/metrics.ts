// Prometheus metrics at /_warden/metrics (scope `admin` or `metrics`). Counters are bumped
// once per finished request from the audit path, so the request path pays a few increments.
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'status_class' | 'method'>;
  private readonly refusals: Counter<'reason'>;
  private readonly duration: Histogram;
  private readonly tokens: Counter<'kind'>;

  constructor(gauges: { connections: () => number; keys: () => { active: number; revoked: number; expired: number } }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_process_' });
    this.requests = new Counter({ name: 'warden_requests_total', help: 'Requests answered, by status class', labelNames: ['status_class', 'method'], registers: [this.registry] });
    this.refusals = new Counter({ name: 'warden_refusals_total', help: 'Requests refused by Warden, by reason code', labelNames: ['reason'], registers: [this.registry] });
    this.duration = new Histogram({
      name: 'warden_request_duration_seconds',
      help: 'Time from request to the end of the answer (streams included)',
      buckets: [0.005, 0.025, 0.1, 0.5, 2, 10, 60, 300],
      registers: [this.registry],
    });
    this.tokens = new Counter({ name: 'warden_tokens_total', help: 'Tokens reported by Ollama', labelNames: ['kind'], registers: [this.registry] });
    new Gauge({ name: 'warden_connections', help: 'Open client connections', registers: [this.registry], collect() { this.set(gauges.connections()); } });
    new Gauge({
      name: 'warden_keys',
      help: 'API keys by state',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const c = gauges.keys();
        this.set({ state: 'active' }, c.active);
        this.set({ state: 'revoked' }, c.revoked);
        this.set({ state: 'expired' }, c.expired);
      },
    });
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
}
