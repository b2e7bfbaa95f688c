// The request path, in the order DESIGN §3–§5 fixes: framing → health → lockout → canonical
// path → client certificate → credentials → authenticate → route (default deny) → limits →
// body + authorise → forward → audit. Everything it consults was built at start-up; the only
// per-request work is lookups, one hash, and (when a route needs the model name) one JSON parse.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import type { Config } from '../config/schema.ts';
import type { KeyCache, CachedKey } from '../auth/key-cache.ts';
import type { ReplayCache } from '../auth/replay-cache.ts';
import { extractCredential } from '../auth/credentials.ts';
import { authenticate, claimOnce, mayBeNewCredential, recheck, type Authenticated } from '../auth/authenticate.ts';
import { staleSecretOf } from '../auth/stale-secret.ts';
import type { Lockout } from '../auth/lockout.ts';
import { canonicalPath, isRefusal } from '../policy/path.ts';
import type { RouteTable, RouteMatch } from '../policy/routes.ts';
import { authorize, filterModelList, refusalError } from '../policy/authorize.ts';
import type { Limiter } from '../policy/limits.ts';
import type { CompiledCaps } from '../policy/caps.ts';
import type { Upstreams } from '../proxy/upstreams.ts';
import { forward } from '../proxy/forward.ts';
import { mergedModelList } from '../proxy/model-lists.ts';
import { upstreamError } from '../proxy/upstream-error.ts';
import type { AuditLog, AuditInput } from '../audit/writer.ts';
import type { TlsManager } from '../tls/manager.ts';
import { clientCertVerdict } from '../tls/client-audit.ts';
import type { ConnectionTracker } from './connections.ts';
import { normaliseAddress } from './connections.ts';
import { checkJsonKeys, checkRequestFraming, markRefused, wasRefused } from './strict.ts';
import { bodyTooLarge, readBody, parseJsonBody } from './body.ts';
import { lingerAfterAnswer } from './linger.ts';
import { createBodyBudget, type BodyBudget, type BodyReservation } from './body-budget.ts';
import { formBodyForPolicy } from '../policy/multipart.ts';
import { basicCredentialFormRefusal } from '../policy/browser-forms.ts';
import { sendError, sendJson, internalError } from './respond.ts';
import { SECURITY_HEADERS } from '../tls/security-headers.ts';

/** HSTS and friends on every TLS response (a testssl scan finds their absence). */
const SECURITY_HEADER_LIST = Object.entries(SECURITY_HEADERS);
/** Refusals that a key created, rotated or given an ollama public key a moment ago in another
 *  process could cause before the cache has polled: worth one on-demand generation check. */
import { clientAddress } from './client-address.ts';
import { answerPreflight, compileCors, grantOrigin, isPreflight } from './cors.ts';
import { rememberClientAddress } from '../admin/http.ts';
import { adminRequestAudit } from '../admin/request-audit.ts';
import type { Metrics } from './metrics.ts';
import { holdEnd } from './hold-end.ts';
import { staleForMs, storeFreshness, storeStaleError } from './store-freshness.ts';
import type { StoreHealth } from '../store/health.ts';
import type { ActiveStreams } from './active-streams.ts';

export interface GatewayDeps {
  config: Config;
  proto: 'https' | 'http';
  keys: KeyCache;
  replay: ReplayCache;
  routes: RouteTable;
  lockout: Lockout;
  limiter: Limiter;
  /** memory all JSON bodies in flight may take (limits.bodyMemoryBytes); built from config if absent */
  bodyBudget?: BodyBudget;
  /** caps on num_ctx / num_predict / keep_alive (config `caps`), compiled at start-up */
  caps: CompiledCaps;
  upstreams: Upstreams;
  audit: AuditLog;
  tls: TlsManager | null;
  connections: ConnectionTracker;
  /** Fastify's router for /_warden/* (admin API, UI, metrics). */
  admin: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  log: Logger;
  metrics?: Metrics;
  /** Counts requests for the UI's per-minute chart. */
  onRequest?: () => void;
  /** Whether the store answers (for /_warden/health). */
  storeHealth?: StoreHealth;
}

/** Time to Ollama's first answer byte, and of the answer after it (metrics). */
interface RequestTiming {
  firstByteMs: number | null;
  streamMs: number | null;
}
const NO_TIMING: RequestTiming = { firstByteMs: null, streamMs: null };

/** Longest wait for each upstream's part of a merged model list. */
const LIST_TIMEOUT_MS = 5000;

/** Inference requests whose answer Ollama streams: its first byte comes with the first token, so
 *  a long wait for it means loading or a hung box — unlike a non-streamed answer, sent when done.
 *  Native routes stream unless `stream` is false; the OpenAI-style ones only when it is true. */
const STREAMING_ROUTES = new Set(['POST /api/generate', 'POST /api/chat']);
function isStreamed(routeName: string, json: unknown): boolean {
  if (json === null || typeof json !== 'object') return false;
  // Go matches JSON keys case-insensitively: `"Stream": false` is stream=false to Ollama
  let stream: unknown;
  for (const k in json) if (k.length === 6 && k.toLowerCase() === 'stream') stream = (json as Record<string, unknown>)[k];
  if (STREAMING_ROUTES.has(routeName)) return stream !== false;
  return routeName.startsWith('POST /v1/') && stream === true;
}

/** A request that carries a body (declared or chunked) we have not read. */
function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** What proxyRequest hands to the part that runs inside the limit's scope. */
interface Admitted {
  auth: Authenticated;
  identity: { certFingerprint: string | null };
  route: RouteMatch;
  canon: { path: string; query: URLSearchParams };
  event: AuditInput;
  finish: (status: number, extra?: Partial<AuditInput>, timing?: RequestTiming) => void;
  refuse: (err: WardenError, close?: boolean) => void;
  reservation: BodyReservation;
  /** set when the request was refused by policy: its rpm token is given back */
  refunded: boolean;
}

export function createGateway(deps: GatewayDeps, streams: ActiveStreams): (req: IncomingMessage, res: ServerResponse) => void {
  const { config } = deps;
  const requestTimeoutMs = config.limits.requestTimeoutSeconds * 1000;
  const cors = compileCors(config.cors.origins);
  const firstByteMs = config.limits.upstreamFirstByteSeconds * 1000;
  const maxStaleMs = config.store.maxStaleSeconds * 1000;
  const trusted = new Set(config.security.trustedProxies.map((a) => normaliseAddress(a)));
  const bodyBudget = deps.bodyBudget ?? createBodyBudget(config.limits.bodyMemoryBytes);

  return function handle(req, res) {
    void handleRequest(req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'request handler failed');
      if (!res.headersSent) sendError(res, internalError(err));
      else res.destroy();
    });
  };

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const socket = req.socket;
    const conn = deps.connections.get(socket);
    if (conn) conn.requests++;
    const tlsSocket = deps.proto === 'https' ? (socket as TLSSocket) : null;
    if (tlsSocket) for (const [name, value] of SECURITY_HEADER_LIST) res.setHeader(name, value);
    deps.onRequest?.();

    const event: AuditInput = {
      kind: 'request',
      id: randomUUID(),
      method: req.method ?? null,
      path: (req.url ?? '').split('?')[0] ?? null,
      clientAddress: clientAddress(req, trusted),
      tlsVersion: tlsSocket?.getProtocol() ?? null,
      authMethod: 'none',
      bytesIn: 0,
      bytesOut: 0,
    };
    let refusedCode: string | null = null;
    /** An authentication refusal (401/429 before a key is known): a flood's kind, audited in summaries past a few per second. */
    let authRefusal = false;
    /** extra null: counted in the metrics, no audit line (the UI's own polling, admin/request-audit.ts). */
    const finish = (status: number, extra: Partial<AuditInput> | null = {}, timing: RequestTiming = NO_TIMING): void => {
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      if (extra) {
        const e = { ...event, ...extra, status, durationMs };
        if (authRefusal && (status === 401 || status === 429) && !e.keyId) deps.audit.writeRefusal(e);
        else deps.audit.write(e);
      }
      extra ??= {};
      if (!deps.metrics) return;
      const promptTokens = extra.promptTokens ?? null;
      const evalTokens = extra.evalTokens ?? null;
      deps.metrics.observe(req.method ?? '', status, durationMs, refusedCode, promptTokens, evalTokens);
      if (event.keyId) {
        deps.metrics.observeRequest({ model: event.model ?? null, keyId: event.keyId, refused: refusedCode !== null, promptTokens, evalTokens, ...timing });
      }
    };
    const refuse = (err: WardenError, close = false): void => {
      refusedCode = err.code;
      if (close) markRefused(socket);
      sendError(res, err, close);
      finish(err.status, { reason: err.reason });
    };

    const framing = checkRequestFraming(req, config.limits.maxHeaders);
    if (framing) return refuse(framing, true);

    if (req.url === '/_warden/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      const store = storeFreshness(deps.keys, deps.storeHealth, maxStaleMs);
      // Healthy stays exactly {"status":"ok"} (load balancers and scripts match on it); a store
      // problem says what and since when: "degraded" while the cache is still trusted, then 503.
      // Several upstreams (issue 17): how many answer their health checks — counts only, this
      // answer is public and upstream addresses are internal. None up: 503, so a load balancer
      // sends clients to an instance that can reach a box.
      const ups = deps.upstreams.list;
      const upCount = ups.length > 1 ? ups.reduce((n, u) => n + (u.reachable === false ? 0 : 1), 0) : 1;
      const upstreams = ups.length > 1 && upCount < ups.length ? { upstreams: { up: upCount, total: ups.length } } : {};
      if (!store.reachable) sendJson(res, store.refusing || upCount === 0 ? 503 : 200, { status: store.refusing ? 'store_unreachable' : 'degraded', store: store.view, ...upstreams });
      else if (upCount === 0) sendJson(res, 503, { status: 'no_upstream', ...upstreams });
      else if (upCount < ups.length && ups.length > 1) sendJson(res, 200, { status: 'degraded', ...upstreams });
      else sendJson(res, 200, { status: 'ok' });
      return;
    }

    // CORS (cors.ts): a preflight carries no credentials and is answered here, before
    // authentication, never forwarded; an allowed origin may read the answer that follows.
    // The admin paths are never granted to another origin.
    const origin = req.headers.origin;
    if (origin !== undefined && !(req.url ?? '').toLowerCase().startsWith('/_warden')) {
      if (cors.allows(origin)) {
        if (isPreflight(req)) return answerPreflight(req, res, origin);
        grantOrigin(res, origin);
      } else if (isPreflight(req)) {
        return refuse(new WardenError(ErrorCode.FORBIDDEN_POLICY, 'origin not allowed (cors.origins)', { status: 403, reason: `CORS preflight from an origin not in cors.origins: ${origin.slice(0, 100)}` }));
      }
    }

    const address = event.clientAddress ?? 'unknown';
    // A locked-out address is still served when it presents a valid credential (a 196-bit secret
    // cannot be guessed; the lockout stops floods and guessing, it must not punish everyone behind
    // one NAT): only its failures are refused with 429, after the tarpit below.
    const lockedFor = deps.lockout.isLocked(address);
    if (lockedFor > 0 && conn?.tarpitted) {
      // A second request pipelined behind one held in the tarpit would dodge the pause.
      markRefused(socket);
      socket.destroy();
      refusedCode = ErrorCode.AUTH_LOCKED_OUT;
      authRefusal = true;
      return finish(429, { reason: 'address locked out after repeated authentication failures; pipelined request, connection closed' });
    }
    const lockedOut = async (): Promise<void> => {
      // Past a small burst, a locked-out address gets its 429 only after a pause: a flooder that
      // waits for answers (every HTTP client does) is slowed to one refusal per connection per
      // pause, so a flood from one address costs us almost nothing instead of a full TLS answer
      // per attempt, while a client retrying now and then is still answered at once.
      authRefusal = true;
      const err = new WardenError(ErrorCode.AUTH_LOCKED_OUT, 'too many failed authentication attempts; try again later', {
        status: 429,
        headers: { 'retry-after': String(lockedFor) },
        reason: 'address locked out after repeated authentication failures',
      });
      if (config.security.lockoutTarpitMs > 0 && deps.lockout.holdBack(address)) {
        if (conn) conn.tarpitted = true;
        await new Promise((r) => setTimeout(r, config.security.lockoutTarpitMs));
        if (conn) conn.tarpitted = false;
        if (socket.destroyed) {
          refusedCode = err.code;
          return finish(429, { reason: `${err.reason}; ${wasRefused(socket) ? 'connection closed' : 'client left'}` });
        }
      }
      return refuse(err);
    };

    const canon = canonicalPath(req.url ?? '/');
    if (isRefusal(canon)) {
      return refuse(new WardenError(ErrorCode.BAD_REQUEST, 'bad request', { status: 400, reason: canon.reason }), true);
    }

    // Client certificate: checked on every request, so a certificate revoked or expired after
    // the handshake (or smuggled back in by session resumption) is refused at once.
    let certFingerprint: string | null = null;
    if (deps.tls && tlsSocket && config.tls.clientAuth !== 'off') {
      const verdict = clientCertVerdict(config.tls.clientAuth, deps.tls.checkClientCert(tlsSocket));
      if (verdict.subject !== null) event.clientCertSubject = verdict.subject;
      if (verdict.allowed) {
        certFingerprint = verdict.fingerprint;
      } else {
        const reason = verdict.reason ?? 'client certificate refused';
        refuse(new WardenError(ErrorCode.CLIENT_CERT_REFUSED, 'client certificate not accepted', { status: 401, reason }), true);
        deps.audit.write({ ...event, kind: 'tls.client_cert_refused', reason });
        return;
      }
    }

    if (canon.path.startsWith('/_warden/') && canon.path !== '/_warden/metrics') {
      if (!deps.admin) return refuse(new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'not found', { status: 404 }));
      res.once('finish', () => finish(res.statusCode, adminRequestAudit(req, canon.path, res.statusCode)));
      rememberClientAddress(req, address);
      deps.admin(req, res);
      return;
    }

    // Fail closed (issue 16): a view of the keys the store has not confirmed for too long may
    // still hold a key revoked meanwhile, so nothing is checked against it.
    const staleMs = staleForMs(deps.keys);
    if (staleMs > maxStaleMs) return refuse(storeStaleError(staleMs));

    const cred = extractCredential(req.headers, req.rawHeaders, req.url ?? '/', req.method ?? 'GET');
    let auth = authenticate(cred, { certFingerprint }, { keys: deps.keys });
    // (not for a locked-out address: its flood must not turn into store queries)
    if (isWardenError(auth) && lockedFor === 0 && mayBeNewCredential(auth) && (await deps.keys.refreshIfStale())) {
      auth = authenticate(cred, { certFingerprint }, { keys: deps.keys });
    }
    if (!isWardenError(auth)) {
      // A CLI signature is accepted once, across instances and restarts: the check asks the
      // store (one insert-if-absent; a replay already seen here costs nothing). A store that
      // cannot answer fails closed.
      try {
        auth = (await claimOnce(auth, deps.replay)) ?? auth;
      } catch (cause) {
        return refuse(new WardenError(ErrorCode.STORE_UNAVAILABLE, 'Warden cannot reach its key store', { status: 503, headers: { 'retry-after': '5' }, reason: 'replay check: store unavailable', cause }));
      }
    }
    if (isWardenError(auth)) {
      // A rotated, revoked or expired key's own secret: refused and audited under that key, and
      // not counted as a guess (auth/stale-secret.ts).
      const stale = auth.code === ErrorCode.AUTH_INVALID_KEY ? staleSecretOf(cred, auth, deps.keys) : null;
      if (stale) {
        event.keyId = stale.record.id;
        event.keyName = stale.record.name;
        return refuse(new WardenError(auth.code, auth.message, { status: auth.status, headers: auth.headers, reason: `stale secret of ${stale.record.id}: ${auth.reason}` }));
      }
      if (lockedFor > 0) return lockedOut();
      // Wrong or malformed credentials count towards the lockout; a request with none at all
      // (a client probing before it sends its key) is refused just as cheaply and not counted.
      if (auth.code !== ErrorCode.AUTH_MISSING) {
        deps.lockout.fail(address);
        // Repeated failures from one address are slowed down before they are locked out.
        const delay = deps.lockout.delayMs(address);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      }
      authRefusal = true;
      return refuse(auth);
    }
    deps.lockout.succeed(address);
    const key = auth.key;
    event.keyId = key.record.id;
    event.keyName = key.record.name;
    event.authMethod = auth.method;
    if (conn) conn.keyId = key.record.id;
    deps.keys.touch(key.record.id);

    const route = deps.routes.lookup(req.method ?? '', canon.path);
    if (!route) return refuse(new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'not found', { status: 404, reason: 'route not allowed' }));
    if (route.handler === 'warden') {
      // /_warden/metrics: Warden answers itself once the key has the admin or metrics scope.
      const verdict = authorize(route, key, undefined, config.policy);
      if (!verdict.ok) return refuse(refusalError(verdict));
      if (!deps.metrics) return refuse(new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'not found', { status: 404 }));
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType, 'cache-control': 'no-store' });
      res.end(text);
      return finish(200);
    }

    if (auth.method === 'basic') {
      // Browsers send cached Basic credentials by themselves, also with another site's form.
      const csrf = basicCredentialFormRefusal(req.method ?? '', route.bodyKind, req.headers);
      if (csrf) {
        const code = csrf.status === 415 ? ErrorCode.BAD_REQUEST : ErrorCode.FORBIDDEN_POLICY;
        return refuse(new WardenError(code, csrf.message, { status: csrf.status, reason: `Basic credentials: ${csrf.message.slice(0, 80)}` }), route.bodyKind !== 'none');
      }
    }

    await proxyRequest(req, res, auth, { certFingerprint }, route, canon, event, finish, refuse);
  }

  async function proxyRequest(
    req: IncomingMessage,
    res: ServerResponse,
    auth: Authenticated,
    identity: { certFingerprint: string | null },
    route: RouteMatch,
    canon: { path: string; query: URLSearchParams },
    event: AuditInput,
    finish: (status: number, extra?: Partial<AuditInput>, timing?: RequestTiming) => void,
    refuse: (err: WardenError, close?: boolean) => void,
  ): Promise<void> {
    // The key's limits come before a byte of its body is read, so what a key's bodies can cost
    // us is bounded by its own concurrency and rpm, not by how many sockets it opens.
    const limits = auth.key.record;
    const decided = deps.limiter.check(limits.id, { rpm: limits.rpm, tpm: limits.tpm, concurrency: limits.concurrency });
    // in memory (one instance, SQLite) the decision is synchronous: no await, no extra tick
    const limit = decided instanceof Promise ? await decided : decided;
    if (!limit.ok) {
      // The body was never read: close rather than read it just to keep the connection.
      return refuse(
        new WardenError(ErrorCode.RATE_LIMITED, 'rate limit exceeded', {
          status: 429,
          headers: { 'retry-after': String(limit.retryAfterSeconds) },
          reason: `over the key's ${limit.reason} limit`,
        }),
        hasBody(req),
      );
    }
    // One scope from here on: whatever way this request leaves (refusal, error, client gone,
    // upstream failure, throw), its slot and its body memory are given back exactly once.
    const a: Admitted = { auth, identity, route, canon, event, finish, refuse, reservation: bodyBudget.reserve(), refunded: false };
    try {
      await serveAdmitted(req, res, a);
    } finally {
      a.reservation.release();
      limit.release({ refund: a.refunded });
    }
  }

  async function serveAdmitted(req: IncomingMessage, res: ServerResponse, a: Admitted): Promise<void> {
    const { auth, identity, route, canon, event, finish, refuse } = a;
    // Refused by policy or for want of an upstream: the key is not charged for it (a 403 costs
    // the key nothing, as when limits were checked after authorisation).
    const refuseUncharged = (err: WardenError): void => {
      a.refunded = true;
      refuse(err);
    };
    let body: Buffer | null | 'stream' = null;
    let json: unknown = undefined;
    if (route.bodyKind === 'json' || route.bodyKind === 'form') {
      try {
        body = await readBody(req, config.limits.maxBodyBytes, requestTimeoutMs, a.reservation);
        if (route.bodyKind === 'form') {
          const form = formBodyForPolicy(req.headers['content-type'], body, canon.query);
          if ('invalid' in form) throw new WardenError(ErrorCode.BAD_REQUEST, form.invalid, { status: 400 });
          json = form.json;
        } else {
          json = parseJsonBody(body);
          const ambiguous = checkJsonKeys(json);
          if (ambiguous) throw ambiguous;
        }
      } catch (err) {
        // Broken chunk framing mid-body: the listener's clientError handler has already answered
        // and audited it; a second answer or audit line here would be one too many.
        if (wasRefused(req.socket)) return;
        if (isWardenError(err)) {
          // 413/503 reach the client as a status, not a reset: the rest of the body is read and dropped (linger.ts)
          if ((err.status === 413 || err.status === 503) && !req.destroyed) {
            lingerAfterAnswer(req, res);
            return refuse(err);
          }
          return refuse(err, err.status === 408 || req.destroyed);
        }
        throw err;
      }
      event.bytesIn = body.length;
    } else if (route.bodyKind === 'stream') {
      // An upload declared over the cap is refused here, where its 413 can linger (forward.ts
      // still cuts one that grows past the cap while it streams).
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > config.limits.maxBlobBytes) {
        lingerAfterAnswer(req, res);
        return refuseUncharged(bodyTooLarge(config.limits.maxBlobBytes));
      }
      body = 'stream';
    }

    // Reading the body may have taken up to the request timeout: the key may have been revoked,
    // expired or rotated meanwhile. Ask again before anything is forwarded (issue 15 #4): two
    // lookups. From here on a revocation cuts the request through `streams`.
    const fresh = recheck(auth, identity, deps.keys);
    if (isWardenError(fresh)) return refuse(fresh);
    const key: CachedKey = fresh.key;

    const verdict = authorize(route, key, json, config.policy);
    if (!verdict.ok) {
      return refuseUncharged(refusalError(verdict));
    }
    event.model = verdict.model;

    // With several upstreams, a model that only down boxes hold is unavailable, not unknown:
    // a healthy box would answer 404 "model not found", which sends people pulling it again.
    if (verdict.model && deps.upstreams.onlyOnUnhealthy(verdict.model)) {
      return refuseUncharged(
        new WardenError(ErrorCode.UPSTREAM_UNAVAILABLE, `no healthy upstream has model ${verdict.model}`, {
          status: 503,
          headers: { 'retry-after': '5' },
          reason: 'every upstream with the model is down',
        }),
      );
    }

    // Caps come after authorisation (a refused key learns nothing about them) and work on the
    // body already parsed; clamping means forwarding the re-serialised body, never the original.
    let capNote: string | null = null;
    if ((deps.caps.active || key.caps !== null) && Buffer.isBuffer(body)) {
      const capped = deps.caps.apply(route.name, json, key.caps);
      if (!capped.ok) return refuseUncharged(new WardenError(ErrorCode.FORBIDDEN_POLICY, capped.message, { status: 403, reason: capped.reason }));
      if (capped.changed) {
        body = Buffer.from(JSON.stringify(capped.body));
        capNote = `capped: ${capped.notes.join(', ')}`;
      }
    }

    // Several upstreams: a model list is the union of every healthy upstream's (one list for the
    // fleet, not a different one per round-robin pick).
    if (route.filter && deps.upstreams.list.length > 1) {
      const filterKind = route.filter;
      const healthy = deps.upstreams.healthy();
      try {
        const merged = await mergedModelList(healthy, filterKind, LIST_TIMEOUT_MS);
        const visible = filterModelList(filterKind, merged.json, key.models, { hideCloud: !config.policy.allowAccountRoutes });
        const text = Buffer.from(JSON.stringify(visible));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': text.length });
        if (req.method === 'HEAD') res.end();
        else res.end(text);
        return finish(200, { bytesOut: req.method === 'HEAD' ? 0 : text.length });
      } catch (err) {
        const e = upstreamError(healthy.map((u) => u.url).join(', '), err);
        return refuse(e);
      }
    }

    canon.query.delete('ts');
    const qs = canon.query.toString();
    const path = qs ? `${canon.path}?${qs}` : canon.path;
    const upstream = deps.upstreams.pick(verdict.model);
    // Sending twice is safe for inference and reads with a buffered body; never for
    // pull/push/create/delete/copy (models:manage) or streamed uploads.
    const retryable = Buffer.isBuffer(body) || body === null ? !route.scopes.includes('models:manage') : false;
    const model = verdict.model;
    const ac = new AbortController();
    const untrack = streams.add(key.record.id, ac);
    const conn = deps.connections.get(req.socket);
    if (conn) conn.openStreams++;
    // The audit line goes out before the answer's last bytes do (released in finally).
    const releaseEnd = holdEnd(res);
    try {
      const filterKind = route.filter;
      const result = await forward(req, res, {
        upstream,
        method: req.method ?? 'GET',
        path,
        body,
        maxStreamBytes: config.limits.maxBlobBytes,
        clientAddress: event.clientAddress ?? '',
        proto: deps.proto,
        signal: ac.signal,
        // A client that reads nothing (slow read) holds a socket and an upstream slot for nobody.
        stallTimeoutMs: config.limits.slowReadSeconds * 1000,
        answerStartMs: config.limits.answerStartSeconds * 1000,
        answerIdleMs: config.limits.answerIdleSeconds * 1000,
        responseFilter: filterKind ? (data: unknown) => filterModelList(filterKind, data, key.models, { hideCloud: !config.policy.allowAccountRoutes }) : undefined,
        responseFilterKey: filterKind ? `${upstream.url}|${filterKind}|${key.record.models.join('\n')}` : undefined,
        model,
        failover: retryable ? (tried) => deps.upstreams.pickOther(model, tried) : undefined,
        // The first-byte limit exists to fail over from a hung upstream; with nowhere else to go it
        // would only cut a slow model load, and answers have no time limit unless
        // limits.answerStartSeconds sets one (issue 21 item 1).
        firstByteTimeoutMs: retryable && deps.upstreams.list.length > 1 && isStreamed(route.name, json) ? firstByteMs : undefined,
      });
      const tokens = (result.promptTokens ?? 0) + (result.evalTokens ?? 0);
      if (tokens > 0) deps.limiter.chargeTokens(key.record.id, tokens);
      finish(result.status, {
        bytesIn: event.bytesIn || result.bytesIn,
        bytesOut: result.bytesOut,
        promptTokens: result.promptTokens,
        evalTokens: result.evalTokens,
        reason: result.error ?? (ac.signal.aborted ? 'stream cut: key revoked' : result.aborted ? 'client disconnected' : capNote),
      }, { firstByteMs: result.firstByteMs ?? null, streamMs: result.streamMs ?? null });
    } finally {
      releaseEnd();
      untrack();
      if (conn) conn.openStreams--;
    }
  }
}
