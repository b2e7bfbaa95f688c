// Certificate source "acme" (docs/design.md §2, source 3): a certificate from Let's Encrypt or any
// RFC 8555 CA via acme-client, HTTP-01 on its own listener or TLS-ALPN-01 on the main one. The
// account key and the certificate live in tls/acme/. Renewal at 2/3 of life; a failed order is
// retried with exponential backoff and never takes the current certificate out of service.
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { ServerOptions } from 'node:https';
import * as acme from 'acme-client';
import type { Config } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import { renewalTime } from './cert-info.ts';
import { assertPrivateFile, fileExists, readFileOrNull, readTextFile, tlsError, writeFileAtomic } from './files.ts';
import { ensureLocalCa } from './local-ca.ts';
import { issueServerCert } from './server-cert.ts';
import { AlpnChallenges } from './acme-alpn.ts';
import { startHttp01Responder } from './acme-http01.ts';
import type { CertSourceHandle, ServingPair, SwapFn, TlsLog } from './types.ts';

import { ACME_DIR } from './acme-paths.ts';

export { ACME_DIR };
const MAX_TIMEOUT = 2_147_483_647;

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

function errText(err: unknown): string {
  const e = err as { code?: string; message?: string; response?: { status?: number; data?: { detail?: string } } };
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'ETIMEDOUT' || e?.code === 'ECONNRESET') return `ACME directory unreachable (${e.code})`;
  if (e?.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || e?.code === 'SELF_SIGNED_CERT_IN_CHAIN' || e?.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    return `the ACME directory's TLS certificate is not trusted (${e.code}); set tls.acme.caBundle for a private ACME CA`;
  const detail = e?.response?.data?.detail;
  return (detail ?? e?.message ?? String(err)).split('\n')[0]!;
}

/** The account URL registered earlier with this directory, if any. */
function readAccountUrl(path: string, directory: string): string | null {
  try {
    const a = JSON.parse(readFileOrNull(path) ?? 'null') as { directory?: string; url?: string } | null;
    return a && a.directory === directory && typeof a.url === 'string' ? a.url : null;
  } catch {
    return null;
  }
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
  const dir = join(opts.tlsDir, ACME_DIR);
  const accountKeyPath = join(dir, 'account-key.pem');
  const accountPath = join(dir, 'account.json');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');

  // Trust for the ACME server itself: the public roots, plus tls.acme.caBundle (a private CA, Pebble).
  let httpsAgent: Agent | undefined;
  if (cfg.caBundle) {
    const bundle = readTextFile(resolveDataPath(opts.dataDir, cfg.caBundle), 'tls.acme.caBundle');
    httpsAgent = new Agent({ ca: [...rootCertificates, bundle], keepAlive: false });
  }

  let accountKey: string;
  if (fileExists(accountKeyPath)) {
    assertPrivateFile(accountKeyPath, 'ACME account key');
    accountKey = readTextFile(accountKeyPath, 'ACME account key');
  } else {
    accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    writeFileAtomic(accountKeyPath, accountKey, 0o600);
  }

  const alpn = new AlpnChallenges();
  // The HTTP-01 listener binds the same address as the main listener (the CA reaches both alike).
  const listenHost = opts.config.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const retryMs = opts.retryMs ?? 60_000;
  const maxRetryMs = opts.maxRetryMs ?? 6 * 3_600_000;

  const status: AcmeStatus = {
    state: 'pending',
    directory: cfg.directory,
    challenge: cfg.challenge,
    domains: [...cfg.domains],
    accountKeyPath,
    lastError: null,
    lastAttempt: null,
    nextAttempt: null,
  };

  let pair: ServingPair;
  let firstRenewAt: Date;
  const stored = loadStored(certPath, keyPath, cfg.domains);
  let markReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));
  if (stored) {
    pair = { certPem: stored.certPem, keyPem: stored.keyPem, source: 'acme' };
    status.state = 'valid';
    firstRenewAt = stored.renewAt;
    markReady();
  } else {
    // Until the first order completes, serve a local-CA certificate for the same names so the
    // listener (which TLS-ALPN-01 needs) can start.
    const ca = await ensureLocalCa(opts.tlsDir);
    const placeholder = await issueServerCert(ca, cfg.domains, { days: 7 });
    pair = { ...placeholder, source: 'local-ca' };
    firstRenewAt = new Date();
  }

  const order = async (): Promise<void> => {
    await probeDirectory(cfg.directory, httpsAgent);
    // A known account URL skips registration: re-registering an existing account makes
    // acme-client send an empty account update, which strict servers (Pebble) reject.
    const accountUrl = readAccountUrl(accountPath, cfg.directory);
    const client = new acme.Client({ directoryUrl: cfg.directory, accountKey, ...(accountUrl ? { accountUrl } : {}), backoffAttempts: 3, backoffMin: 1000, backoffMax: 10_000 });
    const [key, csr] = await acme.crypto.createCsr({ commonName: cfg.domains[0]!, altNames: [...cfg.domains] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
    const http01 = cfg.challenge === 'http-01' ? await startHttp01Responder(cfg.httpPort, listenHost) : null;
    try {
      const certPem = await client.auto({
        csr,
        ...(cfg.email ? { email: cfg.email } : {}),
        termsOfServiceAgreed: true,
        challengePriority: [cfg.challenge],
        // No self-check: behind NAT or split DNS Warden cannot see itself as the CA does.
        skipChallengeVerification: true,
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          if (challenge.type === 'http-01') http01?.set(challenge.token, keyAuthorization);
          else if ((challenge.type as string) === 'tls-alpn-01') {
            const [k, c] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
            alpn.set(authz.identifier.value, c.toString(), k.toString());
          }
        },
        challengeRemoveFn: async (authz, challenge) => {
          if (challenge.type === 'http-01') http01?.delete(challenge.token);
          else alpn.delete(authz.identifier.value);
        },
      });
      if (!accountUrl) writeFileAtomic(accountPath, JSON.stringify({ directory: cfg.directory, url: client.getAccountUrl() }) + '\n', 0o600);
      const keyPem = key.toString();
      writeFileAtomic(keyPath, keyPem, 0o600);
      writeFileAtomic(certPath, certPem, 0o644);
      pair = { certPem, keyPem, source: 'acme' };
    } finally {
      await http01?.close();
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failures = 0;
  const schedule = (at: Date): void => {
    if (closed) return;
    status.nextAttempt = at.toISOString();
    const wait = Math.max(0, at.getTime() - Date.now());
    timer = setTimeout(() => (wait > MAX_TIMEOUT ? schedule(at) : void attempt()), Math.min(wait, MAX_TIMEOUT));
    timer.unref();
  };
  const attempt = async (): Promise<void> => {
    status.lastAttempt = new Date().toISOString();
    try {
      await withAgent(httpsAgent, order);
      if (closed) return;
      failures = 0;
      status.state = 'valid';
      status.lastError = null;
      const leaf = new X509Certificate(pair.certPem);
      log('info', 'tls: ACME certificate obtained', { domains: cfg.domains, notAfter: new Date(leaf.validTo).toISOString() });
      opts.swap(pair);
      markReady();
      schedule(renewalTime(new Date(leaf.validFrom), new Date(leaf.validTo)));
    } catch (err) {
      failures++;
      status.lastError = errText(err);
      if (status.state !== 'valid') status.state = 'error';
      const delay = Math.min(maxRetryMs, retryMs * 2 ** (failures - 1));
      log('error', `tls: ACME order failed, keeping the current certificate, retrying in ${delay < 10_000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}: ${status.lastError}`);
      schedule(new Date(Date.now() + delay));
    }
  };
  schedule(firstRenewAt);

  return {
    get pair() {
      return pair;
    },
    status: () => ({ ...status, domains: [...status.domains] }),
    ready: () => readyPromise,
    serverHooks: () => (cfg.challenge === 'tls-alpn-01' ? alpn.hooks() : {}),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      httpsAgent?.destroy();
    },
  };
}

/** One GET of the directory first: acme-client loses the network error's code when its retries
 *  run out (it then throws a TypeError), and "unreachable (ECONNREFUSED)" is what the operator
 *  needs to read. */
function probeDirectory(url: string, agent: Agent | undefined): Promise<void> {
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
    // one quick retry is enough here because the order as a whole is retried with backoff below.
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
