// Talking to the ACME server: whom to trust (the public roots, plus tls.acme.caBundle for a
// private CA such as Pebble), one plain GET that says whether the directory is reachable at all,
// acme-client's shared axios settings held for one order at a time, and an error worded for the
// operator.
import { rootCertificates } from 'node:tls';
import { Agent, request as httpsRequest } from 'node:https';
import * as acme from 'acme-client';
import type { Config } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import { readTextFile } from './files.ts';

/** The agent for a private ACME CA; undefined for a public one (Node's roots are the default). */
export function acmeAgent(cfg: Config['tls']['acme'], dataDir: string): Agent | undefined {
  if (!cfg.caBundle) return undefined;
  const bundle = readTextFile(resolveDataPath(dataDir, cfg.caBundle), 'tls.acme.caBundle');
  return new Agent({ ca: [...rootCertificates, bundle], keepAlive: false });
}

/** One line for the log and `warden cert status`: what went wrong, and for an untrusted private
 *  CA what to set. */
export function acmeErrorText(err: unknown): string {
  const e = err as { code?: string; message?: string; response?: { status?: number; data?: { detail?: string } } };
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'ETIMEDOUT' || e?.code === 'ECONNRESET') return `ACME directory unreachable (${e.code})`;
  if (e?.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || e?.code === 'SELF_SIGNED_CERT_IN_CHAIN' || e?.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    return `the ACME directory's TLS certificate is not trusted (${e.code}); set tls.acme.caBundle for a private ACME CA`;
  const detail = e?.response?.data?.detail;
  return (detail ?? e?.message ?? String(err)).split('\n')[0]!;
}

/** One GET of the directory first: acme-client loses the network error's code when its retries
 *  run out (it then throws a TypeError), and "unreachable (ECONNREFUSED)" is what the operator
 *  needs to read. */
export function probeDirectory(url: string, agent: Agent | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'GET', ...(agent ? { agent } : {}), timeout: 10_000 }, (res) => {
      res.resume();
      if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolve();
      else reject(new Error(`ACME directory ${url} answered HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/**
 * acme-client (5.x) sends every request through one module-wide axios instance and takes no agent
 * or retry setting per client, so there is no way to scope these to our own instance. They are
 * set on that shared instance for the length of one order only, orders run one at a time (the
 * queue), and every setting is put back afterwards, also when the order fails
 * (test/tls/acme-shared-axios.test.ts). Nothing else in Warden uses acme-client's axios.
 */
let agentQueue: Promise<unknown> = Promise.resolve();
export async function withAgent<T>(agent: Agent | undefined, fn: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const defaults = acme.axios.defaults;
    const previous = defaults.httpsAgent as unknown;
    // acme-client retries a failed request up to 5 times, 5-25 s apart (75 s in all) on its own;
    // one quick retry is enough here because the order as a whole is retried with backoff
    // (acme-schedule.ts).
    const settings = (defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
    const previousRetry = { ...settings };
    if (agent) defaults.httpsAgent = agent;
    settings.retryMaxAttempts = 1;
    settings.retryDefaultDelay = 1;
    try {
      return await fn();
    } finally {
      defaults.httpsAgent = previous;
      settings.retryMaxAttempts = previousRetry.retryMaxAttempts;
      settings.retryDefaultDelay = previousRetry.retryDefaultDelay;
    }
  };
  const p = agentQueue.then(run, run);
  agentQueue = p.catch(() => undefined);
  return p;
}
