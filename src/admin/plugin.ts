// The admin API and web UI under /_warden/ (docs/design.md §8). The server hands every /_warden/ request
// except /_warden/health to the Fastify instance this plugin is added to.
// Order of concerns: security headers on every answer → route → requireAdmin (Bearer, or
// session cookie + CSRF) → the action → one error shape for every failure.
import type { FastifyInstance } from 'fastify';
import { ErrorCode, WardenError } from '../errors.ts';
import { sendError } from '../api-errors.ts';
import type { AdminDeps } from './deps.ts';
import type { AdminContext } from './context.ts';
import { makeRequireAdmin } from './auth.ts';
import { ADMIN_PREFIX, SECURITY_HEADERS, asWardenError } from './http.ts';
import { AttemptLimiter } from './rate-limit.ts';
import { SessionStore, type SessionOptions } from './sessions.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { registerKeyRoutes } from './routes/keys.ts';
import { registerCertRoutes } from './routes/certs.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerStatusRoutes } from './routes/status.ts';
import { registerSettingsRoutes } from './routes/settings.ts';
import { registerLockoutRoutes } from './routes/lockouts.ts';
import { registerStatic } from './static.ts';

export interface AdminPluginOptions {
  /** Built UI directory. Default: dist/web of this package. */
  webRoot?: string;
  sessions?: SessionOptions;
  /** Sign-in attempts per address per minute. Default 10. */
  signInPerMinute?: number;
  /** Failed Bearer attempts per address per minute before 429. Default 20. */
  bearerFailuresPerMinute?: number;
  /** Clock for the limiters (tests). */
  now?: () => number;
}

export type { AdminDeps } from './deps.ts';

export async function adminPlugin(app: FastifyInstance, deps: AdminDeps, options: AdminPluginOptions = {}): Promise<void> {
  // Also usable as `app.register(adminPlugin, deps)`, where Fastify may pass its `done` callback third.
  const opts: AdminPluginOptions = typeof options === 'object' && options !== null ? options : {};
  const now = opts.now ?? Date.now;
  const sessions = new SessionStore({ now, ...opts.sessions });
  const ctx: AdminContext = {
    deps,
    sessions,
    signInLimiter: new AttemptLimiter(opts.signInPerMinute ?? 10, 60_000, now),
    requireAdmin: makeRequireAdmin({ deps, sessions, failures: new AttemptLimiter(opts.bearerFailuresPerMinute ?? 20, 60_000, now) }),
    pendingRestart: new Set(),
  };

  app.addHook('onRequest', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  app.setErrorHandler((err, req, reply) => {
    const e = asWardenError(err);
    // The client gets a safe message (never a stack); the operator's log gets the whole error.
    if (e.status >= 500) req.log.error({ err }, 'admin request failed');
    // Warden's one error writer (api-errors.ts: the admin shape under /_warden/), with the
    // security headers the onRequest hook put on the reply.
    reply.hijack();
    sendError(reply.raw, e, { headers: reply.getHeaders() });
  });

  app.setNotFoundHandler(() => {
    throw new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'not found');
  });

  registerSessionRoutes(app, ctx);
  registerStatusRoutes(app, ctx);
  registerKeyRoutes(app, ctx);
  registerCertRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerSettingsRoutes(app, ctx);
  registerLockoutRoutes(app, ctx);
  registerStatic(app, opts.webRoot);
}

export { ADMIN_PREFIX };
