// A Prometheus histogram counted in plain numbers on the request path and handed to prom-client's
// registry when scraped, in the shape prom-client's own Histogram gives it (same lines, labels
// and order). prom-client's Histogram checks and hashes the label object on every observe(), also
// through labels(): ~0.2-0.4 µs, three times per streamed request (request duration, time to
// first byte, tokens per second). Here a series is looked up once by its caller and observing is
// a walk over the bounds.
import type { Registry } from 'prom-client';

/** One label set's counts. */
export interface HistogramSeries<L extends string> {
  readonly labels: Readonly<Record<L, string>>;
  /** per bound, not cumulative; the last one counts what is above every bound (+Inf) */
  readonly counts: number[];
  sum: number;
  count: number;
}

interface ExportValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
}

export class TallyHistogram<L extends string = never> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  private readonly all: HistogramSeries<L>[] = [];

  constructor(o: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = o.name;
    this.help = o.help;
    this.bounds = [...o.buckets].sort((a, b) => a - b);
    for (const r of o.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** A new series (the caller keeps it and bounds how many it makes). */
  series(labels: Record<L, string>): HistogramSeries<L> {
    const s: HistogramSeries<L> = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
    this.all.push(s);
    return s;
  }

  observe(s: HistogramSeries<L>, value: number): void {
    // prom-client refuses what is not a number; a NaN must not turn the sum into NaN for good
    if (!Number.isFinite(value)) return;
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  /** The registry's text format reads this (as prom-client's Histogram.getForPromString). */
  getForPromString(): { name: string; help: string; type: string; values: ExportValue[]; aggregator: string } {
    const values: ExportValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.all) {
      // as prom-client: a labelled series appears once observed, the unlabelled one always
      if (s.count === 0 && Object.keys(s.labels).length > 0) continue;
      const shared = s.labels as Record<string, string>;
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: shared, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: s.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The registry's JSON form reads this (labels merged, as prom-client's Histogram.get). */
  get(): { name: string; help: string; type: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }>; aggregator: string } {
    const data = this.getForPromString();
    return { ...data, values: data.values.map((v) => ({ labels: { ...v.labels, ...v.sharedLabels }, value: v.value, metricName: v.metricName })) };
  }

  reset(): void {
    for (const s of this.all) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
