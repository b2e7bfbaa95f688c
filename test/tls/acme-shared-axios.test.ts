// acme-client keeps one module-wide axios instance (no agent or retry option per client), so
// acme-transport.ts sets our trust and retry settings on it only for the length of one order, one
// order at a time, and puts everything back afterwards.
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { test } from 'node:test';
import * as acme from 'acme-client';
import { withAgent } from '../../src/tls/acme-transport.ts';

type Settings = { retryMaxAttempts: number; retryDefaultDelay: number };
const defaults = acme.axios.defaults;
const settings = (): Settings => ({ ...(defaults as unknown as { acmeSettings: Settings }).acmeSettings });

test('the agent and retry settings hold during an order and are put back after it, also after a failure', async () => {
  const before = { agent: defaults.httpsAgent as unknown, retry: settings() };
  const agent = new Agent();
  const seen = await withAgent(agent, () => Promise.resolve({ agent: defaults.httpsAgent as unknown, retry: settings() }));
  assert.equal(seen.agent, agent);
  assert.equal(seen.retry.retryMaxAttempts, 1);
  assert.deepEqual({ agent: defaults.httpsAgent as unknown, retry: settings() }, before);

  await assert.rejects(withAgent(agent, () => Promise.reject(new Error('order failed'))), /order failed/);
  assert.deepEqual({ agent: defaults.httpsAgent as unknown, retry: settings() }, before);
  agent.destroy();
});

test('two orders never overlap on the shared instance', async () => {
  const a = new Agent();
  const b = new Agent();
  const log: string[] = [];
  let releaseFirst!: () => void;
  const firstHolds = new Promise<void>((r) => (releaseFirst = r));
  const first = withAgent(a, async () => {
    log.push('a starts');
    await firstHolds;
    assert.equal(defaults.httpsAgent, a, "the second order did not replace the first one's agent");
    log.push('a ends');
  });
  const second = withAgent(b, () => {
    log.push('b starts');
    assert.equal(defaults.httpsAgent, b);
    return Promise.resolve();
  });
  // b is queued behind a: poll until a has started, then let it finish.
  while (log.length === 0) await new Promise<void>((r) => setImmediate(r));
  releaseFirst();
  await Promise.all([first, second]);
  assert.deepEqual(log, ['a starts', 'a ends', 'b starts']);
  a.destroy();
  b.destroy();
});
