// The request path's histograms are counted in plain numbers (tally-histogram.ts); what a scrape
// reads must be exactly what prom-client's own Histogram gives for the same observations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { TallyHistogram } from '../../src/server/tally-histogram.ts';

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5];
const VALUES = [0, 0.05, 0.0500001, 0.1, 0.3, 0.99, 1, 2.5, 2.6, 1000, 0.2];

test('the text a scrape reads equals prom-client Histogram\'s, labelled and unlabelled', async () => {
  const theirs = new Registry();
  const ours = new Registry();
  const plain = new Histogram({ name: 'h_plain', help: 'unlabelled', buckets: BUCKETS, registers: [theirs] });
  const byModel = new Histogram({ name: 'h_model', help: 'by model', labelNames: ['model'], buckets: BUCKETS, registers: [theirs] });
  const tallyPlain = new TallyHistogram({ name: 'h_plain', help: 'unlabelled', buckets: BUCKETS, registers: [ours] });
  const tallyModel = new TallyHistogram<'model'>({ name: 'h_model', help: 'by model', buckets: BUCKETS, registers: [ours] });
  const plainSeries = tallyPlain.series({});
  // a series made but never observed is not shown, as prom-client shows none for it; series are
  // listed in the order they were made (prom-client's: first observed)
  const series = new Map([['unused', tallyModel.series({ model: 'unused' })]]);
  assert.equal(await ours.metrics(), await theirs.metrics(), 'nothing observed yet');
  for (const [i, v] of VALUES.entries()) {
    plain.observe(v);
    tallyPlain.observe(plainSeries, v);
    const model = i % 3 ? 'a' : 'b "q"\\';
    byModel.observe({ model }, v);
    if (!series.has(model)) series.set(model, tallyModel.series({ model }));
    tallyModel.observe(series.get(model)!, v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
});
