// Warden's own paths: /_warden/* (but metrics) goes to the Fastify app with its own sessions
// and CSRF rules, before any API-key work; /_warden/metrics is a key-authenticated route that
// Warden answers itself once the key has the admin or metrics scope.
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import type { CachedKey } from '../auth/key-cache.ts';
import type { RouteMatch } from '../policy/routes.ts';
import { authorize } from '../policy/authorize.ts';
import { rememberClientAddress } from '../admin/http.ts';
import { adminRequestAudit } from '../admin/request-audit.ts';
import type { Gateway } from './gateway-deps.ts';
import type { RequestContext } from './request-context.ts';
import { holdEnd } from './hold-end.ts';

/** Whether the request is for the admin app (all of /_warden/ but metrics). */
export function isAdminPath(path: string): boolean {
  return path.startsWith('/_warden/') && path !== '/_warden/metrics';
}

/** Hands an admin request to Fastify; its audit line is written when the answer is sent. */
export function dispatchAdmin(g: Gateway, ctx: RequestContext, path: string): void {
  const { req, res } = ctx;
  const admin = g.deps.admin;
  if (!admin) return ctx.refuse(new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'not found'));
  res.once('finish', () => ctx.finish(res.statusCode, adminRequestAudit(req, path, res.statusCode)));
  rememberClientAddress(req, ctx.address);
  admin(req, res);
}

/** /_warden/metrics for an authenticated key. */
export async function serveMetrics(g: Gateway, ctx: RequestContext, route: RouteMatch, key: CachedKey): Promise<void> {
  const { deps, config } = g;
  const verdict = authorize(route, key, undefined, config.policy);
  if (isWardenError(verdict)) return ctx.refuse(verdict);
  if (!deps.metrics) return ctx.refuse(new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'not found'));
  const text = await deps.metrics.registry.metrics();
  // The answer's end waits for its audit line (audit/writer.ts appends a turn's lines together).
  const releaseEnd = holdEnd(ctx.res);
  ctx.res.writeHead(200, { 'content-type': deps.metrics.registry.contentType, 'cache-control': 'no-store' });
  ctx.res.end(text);
  ctx.finish(200);
  deps.audit.whenWritten(releaseEnd);
}
