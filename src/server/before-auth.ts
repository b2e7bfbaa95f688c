// The steps before a credential is looked at, in the order docs/design.md fixes: framing → health →
// CORS preflight → lockout (a pipelined request behind the tarpit) → canonical path → client
// certificate. Each either answers the request (and returns null) or lets it through with what
// it learned recorded on the request's context (the canonical target is returned). All synchronous: no await before credentials.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import type { AuditInput } from '../audit/writer.ts';
import { canonicalPath, type CanonicalTarget } from '../policy/path.ts';
import { clientCertVerdict } from '../tls/client-audit.ts';
import { SECURITY_HEADERS } from '../tls/security-headers.ts';
import type { Gateway } from './gateway-deps.ts';
import { RequestContext } from './request-context.ts';
import { checkRequestFraming, markRefused } from './strict.ts';
import { clientAddress } from './client-address.ts';
import { answerPreflight, grantOrigin, isPreflight } from './cors.ts';
import { answerHealth, isHealthCheck } from './health.ts';

/** HSTS and friends on every TLS response (a testssl scan finds their absence). */
const SECURITY_HEADER_LIST = Object.entries(SECURITY_HEADERS);

/** The request's context with its audit event; counts it on its connection and for the UI. */
export function openRequest(g: Gateway, req: IncomingMessage, res: ServerResponse): RequestContext {
  const { deps } = g;
  const started = performance.now();
  const socket = req.socket;
  const conn = deps.connections.get(socket);
  if (conn) conn.requests++;
  const tlsSocket = deps.proto === 'https' ? (socket as TLSSocket) : null;
  if (tlsSocket) for (const [name, value] of SECURITY_HEADER_LIST) res.setHeader(name, value);
  deps.onRequest?.();

  // No id yet: it is given when the event is written (audit/writer.ts), so a refusal counted
  // into a summary never costs one.
  const event: AuditInput = {
    kind: 'request',
    method: req.method ?? null,
    path: (req.url ?? '').split('?')[0] ?? null,
    clientAddress: clientAddress(req, g.trusted),
    tlsVersion: tlsSocket?.getProtocol() ?? null,
    authMethod: 'none',
    bytesIn: 0,
    bytesOut: 0,
  };
  return new RequestContext(deps, req, res, socket, tlsSocket, conn, started, event);
}

/** Runs every step before credentials: the canonical target, or null when a step has answered the request. */
export function beforeAuthentication(g: Gateway, ctx: RequestContext): CanonicalTarget | null {
  const { deps, config } = g;
  const { req, res } = ctx;
  const framing = checkRequestFraming(req, config.limits.maxHeaders);
  if (framing) return refused(ctx, framing, true);

  if (isHealthCheck(req.url, req.method)) {
    answerHealth(deps, g.maxStaleMs, res);
    return null;
  }

  // CORS (cors.ts): a preflight carries no credentials and is answered here, before
  // authentication, never forwarded; an allowed origin may read the answer that follows.
  // The admin paths are never granted to another origin.
  const origin = req.headers.origin;
  if (origin !== undefined && !(req.url ?? '').toLowerCase().startsWith('/_warden')) {
    if (g.cors.allows(origin)) {
      if (isPreflight(req)) {
        answerPreflight(req, res, origin);
        return null;
      }
      grantOrigin(res, origin);
    } else if (isPreflight(req)) {
      return refused(ctx, new WardenError(ErrorCode.FORBIDDEN_POLICY, 'origin not allowed (cors.origins)', { reason: `CORS preflight from an origin not in cors.origins: ${origin.slice(0, 100)}` }));
    }
  }

  ctx.address = ctx.event.clientAddress ?? 'unknown';
  // A locked-out address is still served when it presents a valid credential (a 196-bit secret
  // cannot be guessed; the lockout stops floods and guessing, it must not punish everyone behind
  // one NAT): only its failures are refused with 429, after the tarpit (authenticate-request.ts).
  ctx.lockedFor = deps.lockout.isLocked(ctx.address);
  if (ctx.conn?.tarpitted) {
    // A second request pipelined behind a refusal held in the tarpit (authenticate-request.ts)
    // would dodge the pause: the connection is closed, unread. Only a client that pipelines
    // behind its own failed request loses it (browsers and Ollama's clients do not pipeline).
    markRefused(ctx.socket);
    ctx.socket.destroy();
    ctx.authRefusal = true;
    if (ctx.lockedFor > 0) {
      ctx.refusedCode = ErrorCode.AUTH_LOCKED_OUT;
      ctx.finish(429, { reason: 'address locked out after repeated authentication failures; pipelined request, connection closed' });
    } else {
      ctx.refusedCode = ErrorCode.RATE_LIMITED;
      ctx.finish(429, { reason: 'pipelined behind an authentication failure held in the tarpit; connection closed' });
    }
    return null;
  }

  const canon = canonicalPath(req.url ?? '/');
  if (isWardenError(canon)) return refused(ctx, canon, true);
  return checkClientCert(g, ctx) ? canon : null;
}

/** Client certificate: checked on every request, so a certificate revoked or expired after
 *  the handshake (or smuggled back in by session resumption) is refused at once. */
function checkClientCert(g: Gateway, ctx: RequestContext): boolean {
  const { deps, config } = g;
  const { tlsSocket, event } = ctx;
  if (!deps.tls || !tlsSocket || config.tls.clientAuth === 'off') return true;
  const verdict = clientCertVerdict(config.tls.clientAuth, deps.tls.checkClientCert(tlsSocket));
  if (verdict.subject !== null) event.clientCertSubject = verdict.subject;
  if (verdict.allowed) {
    if (verdict.fingerprint !== null) ctx.identity = { certFingerprint: verdict.fingerprint };
    return true;
  }
  const reason = verdict.reason ?? 'client certificate refused';
  ctx.refuse(new WardenError(ErrorCode.CLIENT_CERT_REFUSED, 'client certificate not accepted', { reason }), true);
  deps.audit.write({ ...event, kind: 'tls.client_cert_refused', reason });
  return false;
}

function refused(ctx: RequestContext, err: WardenError, close = false): null {
  ctx.refuse(err, close);
  return null;
}
