// Key management over HTTP: the same operations and validation as `warden keys …`, because both
// call the one key service. The secret appears only in the create and rotate answers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.ts';
import type { AdminContext } from '../context.ts';
import type { AdminKeyPatch } from '../deps.ts';
import { actorOf } from '../auth.ts';
import { ADMIN_PREFIX } from '../http.ts';
import { issuedKeyToJson, keyToJson } from '../serialize.ts';
import { objectBody, onlyFields, optCaps, optLimit, optString, optStringList, parseDuration, parseExpires, requiredString } from '../input.ts';

const EDITABLE = ['name', 'scopes', 'models', 'expires', 'expiresAt', 'rpm', 'tpm', 'concurrency', 'certFingerprint', 'ollamaPubkeys', 'caps'] as const;

/** Reads the fields shared by create and edit; undefined = not given (keep as is). */
function readKeyFields(body: Record<string, unknown>): AdminKeyPatch {
  onlyFields(body, EDITABLE);
  const out: AdminKeyPatch = {};
  if (body.name !== undefined) out.name = requiredString('name', body.name, 64);
  const scopes = optStringList('scope', body.scopes);
  if (scopes !== undefined) out.scopes = scopes;
  const models = optStringList('model', body.models);
  if (models !== undefined) out.models = models;
  const expires = body.expires !== undefined ? body.expires : body.expiresAt;
  if (expires !== undefined) out.expiresAt = parseExpires(expires);
  for (const f of ['rpm', 'tpm', 'concurrency'] as const) {
    const v = optLimit(f, body[f]);
    if (v !== undefined) out[f] = v;
  }
  const fp = optString('bind-cert', body.certFingerprint);
  if (fp !== undefined) out.certFingerprint = fp;
  const pubkeys = optStringList('ollama-pubkey', body.ollamaPubkeys);
  if (pubkeys !== undefined) out.ollamaPubkeys = pubkeys;
  Object.assign(out, optCaps(body.caps));
  return out;
}

export function registerKeyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { deps } = ctx;
  const guard = { preHandler: ctx.requireAdmin };
  type IdParams = { Params: { id: string } };

  app.get(`${ADMIN_PREFIX}/api/keys`, guard, async () => {
    const now = new Date();
    const list = await deps.store.keys.list();
    return list.map((k) => keyToJson(k, now));
  });

  app.get<IdParams>(`${ADMIN_PREFIX}/api/keys/:id`, guard, async (req) => {
    const k = await deps.store.keys.get(req.params.id);
    if (!k) throw notFound(`key ${JSON.stringify(req.params.id)}`);
    return keyToJson(k);
  });

  app.post(`${ADMIN_PREFIX}/api/keys`, guard, async (req: FastifyRequest, reply: FastifyReply) => {
    const body = objectBody(req.body);
    const fields = readKeyFields(body);
    const issued = await deps.keys.create({ ...fields, name: requiredString('name', body.name, 64) }, actorOf(req));
    return reply.code(201).send(issuedKeyToJson(issued));
  });

  app.patch<IdParams>(`${ADMIN_PREFIX}/api/keys/:id`, guard, async (req) => {
    const record = await deps.keys.update(req.params.id, readKeyFields(objectBody(req.body)), actorOf(req));
    return keyToJson(record);
  });

  app.post<IdParams>(`${ADMIN_PREFIX}/api/keys/:id/rotate`, guard, async (req) => {
    const body = objectBody(req.body);
    onlyFields(body, ['grace']);
    const grace = body.grace === undefined || body.grace === '' ? 0 : parseDuration('grace', body.grace);
    return issuedKeyToJson(await deps.keys.rotate(req.params.id, grace, actorOf(req)));
  });

  app.post<IdParams>(`${ADMIN_PREFIX}/api/keys/:id/revoke`, guard, async (req) => {
    // Its sessions end on their next request, by the one rule in sessions.ts.
    const record = await deps.keys.revoke(req.params.id, actorOf(req));
    return keyToJson(record);
  });

  app.delete<IdParams>(`${ADMIN_PREFIX}/api/keys/:id`, guard, async (req, reply) => {
    await deps.keys.delete(req.params.id, actorOf(req));
    return reply.code(204).send();
  });
}
