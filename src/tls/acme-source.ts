// Certificate source "acme" (docs/design.md §2, source 3): a certificate from Let's Encrypt or any
// RFC 8555 CA via acme-client, HTTP-01 on its own listener or TLS-ALPN-01 on the main one. The
// account key and the certificate live in tls/acme/. Renewal at 2/3 of life; a failed order is
// retried with exponential backoff and never takes the current certificate out of service
// (acme-schedule.ts). One order: acme-order.ts; the account: acme-account.ts; trust and the
// network: acme-transport.ts.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { ServerOptions } from 'node:https';
import type { Config } from '../config/schema.ts';
import { renewalTime } from './cert-info.ts';
import { readFileOrNull, tlsError } from './files.ts';
import { ensureLocalCa } from './local-ca.ts';
import { issueServerCert } from './server-cert.ts';
import { AlpnChallenges } from './acme-alpn.ts';
import { loadAccountKey } from './acme-account.ts';
import { orderCertificate, type OrderContext } from './acme-order.ts';
import { OrderSchedule } from './acme-schedule.ts';
import { acmeAgent, acmeErrorText, withAgent } from './acme-transport.ts';
import { ACME_DIR } from './acme-paths.ts';
import type { CertSourceHandle, ServingPair, SwapFn, TlsLog } from './types.ts';

export { ACME_DIR };

export interface AcmeStatus {
  /** pending: no ACME certificate yet (a placeholder from the local CA is served);
   *  valid: an ACME certificate is in service; error: the last order failed (see lastError). */
  state: 'pending' | 'valid' | 'error';
  directory: string;
  challenge: 'http-01' | 'tls-alpn-01';
  domains: string[];
  accountKeyPath: string;
  lastError: string | null;
  lastAttempt: string | null;
  nextAttempt: string | null;
}

export interface AcmeSourceHandle extends CertSourceHandle {
  status(): AcmeStatus;
  /** resolves when an ACME certificate is in service */
  ready(): Promise<void>;
  /** ALPN/SNI hooks for the main listener (TLS-ALPN-01 only) */
  serverHooks(): Partial<ServerOptions>;
}

export interface AcmeSourceOptions {
  config: Config;
  dataDir: string;
  tlsDir: string;
  log: TlsLog;
  swap: SwapFn;
  /** first retry delay after a failed order; doubles up to maxRetryMs. Default 60 s. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** The stored certificate, if it exists, parses, matches its key and covers every domain. */
function loadStored(certPath: string, keyPath: string, domains: readonly string[]): { certPem: string; keyPem: string; renewAt: Date } | null {
  const certPem = readFileOrNull(certPath);
  const keyPem = readFileOrNull(keyPath);
  if (!certPem || !keyPem) return null;
  try {
    const leaf = new X509Certificate(certPem);
    if (Date.now() > new Date(leaf.validTo).getTime()) return null;
    for (const d of domains) if ((isIP(d) ? leaf.checkIP(d) : leaf.checkHost(d, { subject: 'never' })) === undefined) return null;
    return { certPem, keyPem, renewAt: renewalTime(new Date(leaf.validFrom), new Date(leaf.validTo)) };
  } catch {
    return null;
  }
}

export async function createAcmeSource(opts: AcmeSourceOptions): Promise<AcmeSourceHandle> {
  const cfg = opts.config.tls.acme;
  const { log } = opts;
  if (cfg.domains.length === 0) throw tlsError('tls.mode is acme but tls.acme.domains is empty; list the public names to get a certificate for');
  const ctx = await orderContext(opts);
  const { agent } = ctx;
  const status: AcmeStatus = {
    state: 'pending',
    directory: cfg.directory,
    challenge: cfg.challenge,
    domains: [...cfg.domains],
    accountKeyPath: ctx.accountKeyPath,
    lastError: null,
    lastAttempt: null,
    nextAttempt: null,
  };
  let markReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));
  const first = await firstPair(opts.tlsDir, ctx.certPath, ctx.keyPath, cfg.domains);
  let pair = first.pair;
  if (pair.source === 'acme') {
    status.state = 'valid';
    markReady();
  }

  const schedule = new OrderSchedule({
    order: () => {
      status.lastAttempt = new Date().toISOString();
      return withAgent(agent, () => orderCertificate(ctx));
    },
    succeeded: (ordered: ServingPair) => {
      pair = ordered;
      status.state = 'valid';
      status.lastError = null;
      const leaf = new X509Certificate(pair.certPem);
      log('info', 'tls: ACME certificate obtained', { domains: cfg.domains, notAfter: new Date(leaf.validTo).toISOString() });
      opts.swap(pair);
      markReady();
      return renewalTime(new Date(leaf.validFrom), new Date(leaf.validTo));
    },
    failed: (err, delay) => {
      status.lastError = acmeErrorText(err);
      if (status.state !== 'valid') status.state = 'error';
      log('error', `tls: ACME order failed, keeping the current certificate, retrying in ${delay < 10_000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}: ${status.lastError}`);
    },
    scheduled: (at) => (status.nextAttempt = at.toISOString()),
    retryMs: opts.retryMs ?? 60_000,
    maxRetryMs: opts.maxRetryMs ?? 6 * 3_600_000,
  });
  schedule.at(first.renewAt);

  return {
    get pair() {
      return pair;
    },
    status: () => ({ ...status, domains: [...status.domains] }),
    ready: () => readyPromise,
    serverHooks: () => (cfg.challenge === 'tls-alpn-01' ? ctx.alpn.hooks() : {}),
    close() {
      schedule.close();
      agent?.destroy();
    },
  };
}

/** Where the account and the certificate live (tls/acme/), the account key, and how challenges
 *  are answered. */
async function orderContext(opts: AcmeSourceOptions): Promise<OrderContext & { accountKeyPath: string }> {
  const cfg = opts.config.tls.acme;
  const dir = join(opts.tlsDir, ACME_DIR);
  const accountKeyPath = join(dir, 'account-key.pem');
  // The trust agent first: an unreadable tls.acme.caBundle stops start-up before any key is made.
  const agent = acmeAgent(cfg, opts.dataDir);
  return {
    cfg,
    accountKeyPath,
    accountKey: await loadAccountKey(accountKeyPath),
    accountPath: join(dir, 'account.json'),
    certPath: join(dir, 'cert.pem'),
    keyPath: join(dir, 'key.pem'),
    agent,
    alpn: new AlpnChallenges(),
    // The HTTP-01 listener binds the same address as the main listener (the CA reaches both alike).
    listenHost: opts.config.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
  };
}

/** The stored ACME certificate when it is still good, with its renewal time; else, until the
 *  first order completes, a local-CA certificate for the same names so the listener (which
 *  TLS-ALPN-01 needs) can start, and an order at once. */
async function firstPair(tlsDir: string, certPath: string, keyPath: string, domains: readonly string[]): Promise<{ pair: ServingPair; renewAt: Date }> {
  const stored = loadStored(certPath, keyPath, domains);
  if (stored) return { pair: { certPem: stored.certPem, keyPem: stored.keyPem, source: 'acme' }, renewAt: stored.renewAt };
  const ca = await ensureLocalCa(tlsDir);
  const placeholder = await issueServerCert(ca, domains, { days: 7 });
  return { pair: { ...placeholder, source: 'local-ca' }, renewAt: new Date() };
}
