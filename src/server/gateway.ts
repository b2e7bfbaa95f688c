// The request path, in the order docs/design.md fixes ("The request path, step by step"):
// framing → health → lockout → canonical path → client certificate → credentials →
// authenticate → route (default deny) → limits → body + authorise → forward → audit.
// Everything it consults was built at start-up; the only per-request work is lookups, one hash,
// and (when a route needs the model name) one JSON parse.
//
// Each step lives in its own file, one floor down from here (docs/design.md "The request path,
// step by step"):
//   request-context.ts       the request's audit event; finish, refuse
//   before-auth.ts           framing, health, CORS preflight, lockout, canonical path, client cert
//   admin-dispatch.ts        /_warden/* to the admin app; /_warden/metrics
//   authenticate-request.ts  fresh key view, credential, authenticate, stale secrets, lockout
//   admission.ts             limits, body budget and read, re-check, authorise, caps
//   forwarding.ts            merged model lists, upstream pick and failover, forward
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, WardenError } from '../errors.ts';
import { basicCredentialFormRefusal } from '../policy/browser-forms.ts';
import type { BodyKind } from '../policy/routes.ts';
import { compileGateway, type Gateway, type GatewayDeps } from './gateway-deps.ts';
import type { ActiveStreams } from './active-streams.ts';
import type { RequestContext } from './request-context.ts';
import { beforeAuthentication, openRequest } from './before-auth.ts';
import { dispatchAdmin, isAdminPath, serveMetrics } from './admin-dispatch.ts';
import { authenticateRequest } from './authenticate-request.ts';
import { admit } from './admission.ts';
import { internalError, sendError } from '../api-errors.ts';

export type { GatewayDeps } from './gateway-deps.ts';

export function createGateway(deps: GatewayDeps, streams: ActiveStreams): (req: IncomingMessage, res: ServerResponse) => void {
  const g = compileGateway(deps, streams);
  return function handle(req, res) {
    void handleRequest(g, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'request handler failed');
      // a bug: whatever it threw, the client gets a 500 (or a cut, once the answer began)
      sendError(res, internalError(err));
    });
  };
}

async function handleRequest(g: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ctx = openRequest(g, req, res);
  const canon = beforeAuthentication(g, ctx);
  if (!canon) return;
  if (isAdminPath(canon.path)) return dispatchAdmin(g, ctx, canon.path);
  const auth = await authenticateRequest(g, ctx);
  if (!auth) return;

  const route = g.deps.routes.lookup(req.method ?? '', canon.path);
  if (!route) return ctx.refuse(new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'not found', { reason: 'route not allowed' }));
  // /_warden/metrics: Warden answers itself once the key has the admin or metrics scope.
  if (route.handler === 'warden') return serveMetrics(g, ctx, route, auth.key);
  if (auth.method === 'basic' && refusedBasicForm(ctx, route.bodyKind)) return;
  await admit(g, ctx, auth, route, canon);
}

/** Browsers send cached Basic credentials by themselves, also with another site's form. */
function refusedBasicForm(ctx: RequestContext, bodyKind: BodyKind): boolean {
  const { req } = ctx;
  const refusal = basicCredentialFormRefusal(req.method ?? '', bodyKind, req.headers);
  if (!refusal) return false;
  ctx.refuse(refusal, bodyKind !== 'none');
  return true;
}
