// The failed-authentication lockout (auth/lockout.ts) as `warden lockout list|clear` sees it:
// which addresses are locked out now, and ending one early (a colleague's NAT after a
// misconfigured script). Clearing is audited with who did it.
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminContext } from '../context.ts';
import { actorOf } from '../auth.ts';
import { ADMIN_PREFIX, clientAddress } from '../http.ts';
import { invalidField } from '../input.ts';

/** An IPv4 or IPv6 address, or an IPv6 /64 as `lockout list` prints it (`2001:db8:1:2::/64`). */
function addressParam(value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  const bare = v.endsWith('::/64') ? `${v.slice(0, -3)}1` : v;
  if (v.length > 64 || isIP(bare) === 0) throw invalidField('address', `got ${JSON.stringify(value ?? null)}; an IPv4 or IPv6 address, or an IPv6 /64 like 2001:db8:1:2::/64`);
  return v;
}

export function registerLockoutRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { deps } = ctx;
  const guard = { preHandler: ctx.requireAdmin };

  app.get(`${ADMIN_PREFIX}/api/lockouts`, guard, async () => ({ lockouts: deps.lockouts.list() }));

  app.delete<{ Querystring: { address?: unknown } }>(`${ADMIN_PREFIX}/api/lockouts`, guard, async (req: FastifyRequest<{ Querystring: { address?: unknown } }>) => {
    const address = addressParam(req.query.address);
    const cleared = deps.lockouts.clear(address);
    deps.audit({ kind: 'lockout.clear', clientAddress: clientAddress(req), actor: actorOf(req), reason: `${address}: ${cleared ? 'cleared' : 'was not locked out'}` });
    return { address, cleared };
  });
}
