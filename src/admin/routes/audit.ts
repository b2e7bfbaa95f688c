// The audit log, newest first, filtered and paged for the UI's table and for scripts.
import type { FastifyInstance } from 'fastify';
import type { AuditQuery } from '../../store/types.ts';
import type { AdminContext } from '../context.ts';
import { ADMIN_PREFIX } from '../http.ts';
import { auditEventToJson } from '../serialize.ts';
import { intInRange, invalidField, parseTimeFilter } from '../input.ts';

type AuditQs = Record<string, string | undefined>;

export function parseAuditQuery(qs: AuditQs, now: Date = new Date()): AuditQuery {
  // `?status=4&status=5` arrives as an array: name the field instead of failing on it later.
  for (const [field, v] of Object.entries(qs)) {
    if (v !== undefined && typeof v !== 'string') throw invalidField(field, 'given more than once');
  }
  const q: AuditQuery = { limit: intInRange('limit', qs.limit, 1, 500, 50) };
  if (qs.key) q.keyId = qs.key;
  if (qs.status) {
    const m = /^([1-5])(xx)?$/i.exec(qs.status);
    if (!m) throw invalidField('status', `got ${JSON.stringify(qs.status)}; a status class 2, 3, 4 or 5 (or 2xx …)`);
    q.statusClass = Number(m[1]);
  }
  if (qs.path) {
    if (!qs.path.startsWith('/')) throw invalidField('path', `got ${JSON.stringify(qs.path)}; a path prefix starting with /`);
    q.pathPrefix = qs.path;
  }
  if (qs.kind) q.kind = qs.kind;
  const since = parseTimeFilter('since', qs.since, now);
  if (since) q.since = since;
  const until = parseTimeFilter('until', qs.until, now);
  if (until) q.until = until;
  const before = parseTimeFilter('before', qs.before, now);
  if (before) q.before = before;
  return q;
}

export function registerAuditRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Querystring: AuditQs }>(`${ADMIN_PREFIX}/api/audit`, { preHandler: ctx.requireAdmin }, async (req) => {
    const q = parseAuditQuery(req.query);
    const events = await ctx.deps.store.audit.query(q);
    const last = events[events.length - 1];
    return {
      events: events.map(auditEventToJson),
      // Cursor for the next (older) page: pass it back as `before`.
      next: last && events.length === q.limit ? last.time.toISOString() : null,
    };
  });
}
