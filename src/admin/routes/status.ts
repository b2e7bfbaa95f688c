// Read-only views of the running server: `warden status --json`, live connections and the
// request rate for the Status page's chart.
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.ts';
import { ADMIN_PREFIX } from '../http.ts';
import { connectionToJson } from '../serialize.ts';

export function registerStatusRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { deps } = ctx;
  const guard = { preHandler: ctx.requireAdmin };

  app.get(`${ADMIN_PREFIX}/api/status`, guard, async () => deps.status());

  app.get(`${ADMIN_PREFIX}/api/connections`, guard, async () => deps.connections().map(connectionToJson));

  app.get(`${ADMIN_PREFIX}/api/request-rate`, guard, async () => deps.requestRate());

  // `warden reload`: re-read keys, client-certificate revocations and certificate files now,
  // without a signal (Windows has none to send).
  app.post(`${ADMIN_PREFIX}/api/reload`, guard, async () => deps.reload());
}
