// Admission of an authenticated request to its route: the key's limits before a byte of the
// body is read, then (inside one scope that gives the slot and the body memory back exactly
// once) the body under the size, time and memory limits, a re-check of the key, authorisation
// of every model reference, the fleet's availability of the model and the caps. What passes is
// forwarded (forwarding.ts).
import type { IncomingMessage } from 'node:http';
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import type { CachedKey } from '../auth/key-cache.ts';
import { recheck, type Authenticated } from '../auth/authenticate.ts';
import type { RouteMatch } from '../policy/routes.ts';
import type { CanonicalTarget } from '../policy/path.ts';
import { authorize } from '../policy/authorize.ts';
import { formBodyForPolicy } from '../policy/multipart.ts';
import type { Gateway } from './gateway-deps.ts';
import type { RequestContext } from './request-context.ts';
import { checkJsonKeys, wasRefused } from './strict.ts';
import { bodyTooLarge, readBody, parseJsonBody } from './body.ts';
import { lingerAfterAnswer } from './linger.ts';
import type { BodyReservation } from './body-budget.ts';
import { forwardRequest, serveModelList } from './forwarding.ts';

/** A request that carries a body (declared or chunked) we have not read. */
function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export async function admit(g: Gateway, ctx: RequestContext, auth: Authenticated, route: RouteMatch, canon: CanonicalTarget): Promise<void> {
  // The key's limits come before a byte of its body is read, so what a key's bodies can cost
  // us is bounded by its own concurrency and rpm, not by how many sockets it opens.
  const limits = auth.key.record;
  const decided = g.deps.limiter.check(limits.id, { rpm: limits.rpm, tpm: limits.tpm, concurrency: limits.concurrency });
  // in memory (one instance, SQLite) the decision is synchronous: no await, no extra tick
  const limit = decided instanceof Promise ? await decided : decided;
  if (!limit.ok) {
    // The body was never read: close rather than read it just to keep the connection.
    return ctx.refuse(
      new WardenError(ErrorCode.RATE_LIMITED, 'rate limit exceeded', {
        headers: { 'retry-after': String(limit.retryAfterSeconds) },
        reason: `over the key's ${limit.reason} limit`,
      }),
      hasBody(ctx.req),
    );
  }
  // One scope from here on: whatever way this request leaves (refusal, error, client gone,
  // upstream failure, throw), its slot and its body memory are given back exactly once.
  const reservation = g.bodyBudget.reserve();
  try {
    await serveAdmitted(g, ctx, auth, route, canon, reservation);
  } finally {
    reservation.release();
    limit.release({ refund: ctx.refunded });
  }
}

async function serveAdmitted(g: Gateway, ctx: RequestContext, auth: Authenticated, route: RouteMatch, canon: CanonicalTarget, reservation: BodyReservation): Promise<void> {
  const { deps, config } = g;
  const { req, res, event } = ctx;
  let body: Buffer | null | 'stream' = null;
  let json: unknown = undefined;
  if (route.bodyKind === 'json' || route.bodyKind === 'form') {
    try {
      body = await readBody(req, config.limits.maxBodyBytes, g.requestTimeoutMs, reservation);
      json = policyView(route, req, body, canon);
    } catch (err) {
      if (answeredBodyError(ctx, err)) return;
      throw err;
    }
    event.bytesIn = body.length;
  } else if (route.bodyKind === 'stream') {
    // An upload declared over the cap is refused here, where its 413 can linger (forward.ts
    // still cuts one that grows past the cap while it streams).
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > config.limits.maxBlobBytes) {
      lingerAfterAnswer(req, res);
      return ctx.refuseUncharged(bodyTooLarge(config.limits.maxBlobBytes));
    }
    body = 'stream';
  }

  // Reading the body may have taken up to the request timeout: the key may have been revoked,
  // expired or rotated meanwhile. Ask again before anything is forwarded: two
  // lookups. From here on a revocation cuts the request through `streams`.
  const fresh = recheck(auth, ctx.identity, deps.keys);
  if (isWardenError(fresh)) return ctx.refuse(fresh);
  const key: CachedKey = fresh.key;

  const verdict = authorize(route, key, json, config.policy);
  if (isWardenError(verdict)) {
    return ctx.refuseUncharged(verdict);
  }
  event.model = verdict.model;

  // With several upstreams, a model that only down boxes hold is unavailable, not unknown:
  // a healthy box would answer 404 "model not found", which sends people pulling it again.
  if (verdict.model && deps.upstreams.onlyOnUnhealthy(verdict.model)) {
    return ctx.refuseUncharged(
      new WardenError(ErrorCode.UPSTREAM_UNAVAILABLE, `no healthy upstream has model ${verdict.model}`, {
        headers: { 'retry-after': '5' },
        reason: 'every upstream with the model is down',
      }),
    );
  }

  // Caps come after authorisation (a refused key learns nothing about them) and work on the
  // body already parsed; clamping means forwarding the re-serialised body, never the original.
  let capNote: string | null = null;
  if ((deps.caps.active || key.caps !== null) && Buffer.isBuffer(body)) {
    const capped = deps.caps.apply(route.name, json, key.caps);
    if (isWardenError(capped)) return ctx.refuseUncharged(capped);
    if (capped.changed) {
      body = Buffer.from(JSON.stringify(capped.body));
      capNote = `capped: ${capped.notes.join(', ')}`;
    }
  }

  // Several upstreams: a model list is the union of every healthy upstream's (one list for the
  // fleet, not a different one per round-robin pick).
  if (route.filter && deps.upstreams.list.length > 1) return serveModelList(g, ctx, route.filter, key);
  await forwardRequest(g, ctx, route, canon, key, body, json, verdict.model, capNote);
}

/** The body as policy reads it: JSON, or a form's fields as JSON. Throws a WardenError. */
function policyView(route: RouteMatch, req: IncomingMessage, body: Buffer, canon: CanonicalTarget): unknown {
  if (route.bodyKind === 'form') {
    const form = formBodyForPolicy(req.headers['content-type'], body, canon.query);
    if ('invalid' in form) throw new WardenError(ErrorCode.BAD_REQUEST, form.invalid);
    return form.json;
  }
  const json = parseJsonBody(body);
  const ambiguous = checkJsonKeys(json);
  if (ambiguous) throw ambiguous;
  return json;
}

/** Answers a failure to read or parse the body; false for an error that is not ours to answer. */
function answeredBodyError(ctx: RequestContext, err: unknown): boolean {
  const { req, res } = ctx;
  // Broken chunk framing mid-body: the listener's clientError handler has already answered
  // and audited it; a second answer or audit line here would be one too many.
  if (wasRefused(req.socket)) return true;
  if (!isWardenError(err)) return false;
  // 413/503 reach the client as a status, not a reset: the rest of the body is read and dropped (linger.ts)
  if ((err.status === 413 || err.status === 503) && !req.destroyed) {
    lingerAfterAnswer(req, res);
    ctx.refuse(err);
    return true;
  }
  ctx.refuse(err, err.status === 408 || req.destroyed);
  return true;
}
