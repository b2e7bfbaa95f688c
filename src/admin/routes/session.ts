// Sign-in, session info and sign-out for the web UI. Sign-in exchanges an admin key for a
// session cookie; the key itself is dropped as soon as it is checked.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, WardenError } from '../../errors.ts';
import type { AdminContext } from '../context.ts';
import { isAdminKey, notAdmin, principalOf, unauthenticated } from '../auth.ts';
import { ADMIN_PREFIX, clearedSessionCookie, clientAddress, sessionCookie } from '../http.ts';
import { objectBody } from '../input.ts';
import { hashKey } from '../../auth/key-format.ts';

export function registerSessionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { deps, sessions } = ctx;

  app.post(`${ADMIN_PREFIX}/api/session`, async (req: FastifyRequest, reply: FastifyReply) => {
    const address = clientAddress(req);
    const limited = ctx.signInLimiter.hit(address);
    if (!limited.allowed) {
      deps.audit({ kind: 'admin.signin_failed', authMethod: 'session', clientAddress: address, method: req.method, path: req.url, status: 429, reason: 'rate limited' });
      throw new WardenError(ErrorCode.RATE_LIMITED, `too many sign-in attempts; try again in ${limited.retryAfterSeconds} s`, {
        headers: { 'retry-after': String(limited.retryAfterSeconds) },
      });
    }
    const body = objectBody(req.body);
    const raw = body.key;
    if (typeof raw !== 'string' || raw.trim() === '' || raw.length > 512) {
      throw new WardenError(ErrorCode.BAD_REQUEST, 'key: paste an admin API key (owk_…)');
    }
    const key = await deps.authenticateKey(raw.trim());
    if (!key) {
      deps.audit({ kind: 'admin.signin_failed', authMethod: 'session', clientAddress: address, method: req.method, path: req.url, status: 401, reason: 'invalid key' });
      throw unauthenticated('this key is not valid', ErrorCode.AUTH_INVALID_KEY);
    }
    if (!isAdminKey(key)) {
      deps.audit({ kind: 'admin.signin_failed', keyId: key.id, keyName: key.name, authMethod: 'session', clientAddress: address, method: req.method, path: req.url, status: 403, reason: 'key lacks admin scope' });
      throw notAdmin();
    }
    const { id, session } = sessions.create(key.id, key.name, hashKey(raw.trim()));
    deps.audit({ kind: 'admin.signin', keyId: key.id, keyName: key.name, authMethod: 'session', clientAddress: address, method: req.method, path: req.url, status: 200, actor: `${key.id} (${key.name})` });
    reply.header('set-cookie', sessionCookie(id));
    return { keyId: key.id, keyName: key.name, csrfToken: session.csrfToken, expiresAt: sessions.expiresAt(session).toISOString() };
  });

  app.get(`${ADMIN_PREFIX}/api/session`, { preHandler: ctx.requireAdmin }, async (req: FastifyRequest) => {
    const p = principalOf(req);
    return {
      keyId: p.keyId,
      keyName: p.keyName,
      csrfToken: p.session ? p.session.csrfToken : null,
      expiresAt: p.session ? sessions.expiresAt(p.session).toISOString() : null,
    };
  });

  app.delete(`${ADMIN_PREFIX}/api/session`, { preHandler: ctx.requireAdmin }, async (req: FastifyRequest, reply: FastifyReply) => {
    const p = principalOf(req);
    if (p.sessionId) sessions.delete(p.sessionId);
    deps.audit({ kind: 'admin.signout', keyId: p.keyId, keyName: p.keyName, authMethod: p.via, clientAddress: clientAddress(req), actor: `${p.keyId} (${p.keyName})` });
    reply.header('set-cookie', clearedSessionCookie());
    return reply.code(204).send();
  });
}
