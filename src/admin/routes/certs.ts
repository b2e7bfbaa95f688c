// Client certificates for mutual TLS. The private key and the PKCS#12 bundle exist only in the
// issue answer (like a key's secret): Warden keeps the certificate record, never the key.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.ts';
import type { AdminContext } from '../context.ts';
import { actorOf } from '../auth.ts';
import { ADMIN_PREFIX } from '../http.ts';
import { clientCertToJson, issuedClientCertToJson, type CaJson } from '../serialize.ts';
import { intInRange, invalidField, objectBody, onlyFields } from '../input.ts';

const CERT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function registerCertRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { deps } = ctx;
  const guard = { preHandler: ctx.requireAdmin };

  app.get(`${ADMIN_PREFIX}/api/certs`, guard, async () => {
    const now = new Date();
    return (await deps.certs.list()).map((c) => clientCertToJson(c, now));
  });

  // The CA clients must trust (the public certificate only; its key never leaves the data dir).
  app.get(`${ADMIN_PREFIX}/api/certs/ca`, guard, async () => {
    const ca = deps.certs.ca();
    if (!ca) throw notFound('local CA');
    const json: CaJson = { pem: ca.pem, fingerprint256: ca.fingerprint256, subject: ca.subject, notAfter: ca.notAfter.toISOString() };
    return json;
  });

  app.post(`${ADMIN_PREFIX}/api/certs`, guard, async (req: FastifyRequest, reply: FastifyReply) => {
    const body = objectBody(req.body);
    onlyFields(body, ['name', 'days']);
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (!CERT_NAME_RE.test(name)) {
      throw invalidField('name', `got ${JSON.stringify(body.name ?? null)}; 1-64 letters, digits, . _ @ -, starting with a letter or digit`);
    }
    // 825 days: the longest lifetime Apple platforms still accept for a TLS certificate.
    const days = intInRange('days', body.days, 1, 825, 365);
    const issued = await deps.certs.issue(name, days, actorOf(req));
    return reply.code(201).send(issuedClientCertToJson(issued));
  });

  app.post<{ Params: { id: string } }>(`${ADMIN_PREFIX}/api/certs/:id/revoke`, guard, async (req) => {
    return clientCertToJson(await deps.certs.revoke(req.params.id, actorOf(req)));
  });
}
