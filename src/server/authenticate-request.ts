// Who is asking: the key view must be fresh enough to trust (fail closed), then exactly one
// credential is taken from the request and checked against the key cache (one on-demand reload
// for a key made a moment ago elsewhere), a CLI signature is claimed once in the store, and a
// failure is answered: a key's own stale secret under that key, a locked-out address after the
// tarpit, other wrong credentials counted towards the lockout and slowed down, and any failure
// past the server-wide burst held in the tarpit too (a flood from many addresses).
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import type { Credential } from '../auth/credentials.ts';
import { extractCredential } from '../auth/credentials.ts';
import { authenticate, claimOnce, mayBeNewCredential, type Authenticated } from '../auth/authenticate.ts';
import { staleSecretOf } from '../auth/stale-secret.ts';
import type { Gateway } from './gateway-deps.ts';
import type { RequestContext } from './request-context.ts';
import { markRefused, wasRefused } from './strict.ts';
import { staleForMs, storeStaleError } from './store-freshness.ts';
import { normaliseAddress } from './connections.ts';
import { addressKey } from '../auth/lockout.ts';

/** The authenticated key, or null when the request has been answered with a refusal. */
export async function authenticateRequest(g: Gateway, ctx: RequestContext): Promise<Authenticated | null> {
  const { deps } = g;
  const { req } = ctx;
  // Fail closed (docs/design.md §10): a view of the keys the store has not confirmed for too long may
  // still hold a key revoked meanwhile, so nothing is checked against it.
  const staleMs = staleForMs(deps.keys);
  if (staleMs > g.maxStaleMs) return refused(ctx, storeStaleError(staleMs));

  const cred = extractCredential(req.headers, req.rawHeaders, req.url ?? '/', req.method ?? 'GET');
  let auth = authenticate(cred, ctx.identity, g.authDeps);
  // (not for a locked-out address: its flood must not turn into store queries)
  if (isWardenError(auth) && ctx.lockedFor === 0 && mayBeNewCredential(auth) && (await deps.keys.refreshIfStale())) {
    auth = authenticate(cred, ctx.identity, g.authDeps);
  }
  if (!isWardenError(auth)) {
    // A CLI signature is accepted once, across instances and restarts: the check asks the
    // store (one insert-if-absent; a replay already seen here costs nothing). A store that
    // cannot answer fails closed.
    try {
      auth = (await claimOnce(auth, deps.replay)) ?? auth;
    } catch (cause) {
      return refused(ctx, new WardenError(ErrorCode.STORE_UNAVAILABLE, 'Warden cannot reach its key store', { headers: { 'retry-after': '5' }, reason: 'replay check: store unavailable', cause }));
    }
  }
  if (isWardenError(auth)) {
    await refuseCredential(g, ctx, cred, auth);
    return null;
  }
  deps.lockout.succeed(ctx.address);
  const { record } = auth.key;
  ctx.event.keyId = record.id;
  ctx.event.keyName = record.name;
  ctx.event.authMethod = auth.method;
  if (ctx.conn) ctx.conn.keyId = record.id;
  deps.keys.touch(record.id);
  return auth;
}

async function refuseCredential(g: Gateway, ctx: RequestContext, cred: Credential, auth: WardenError): Promise<void> {
  const { deps } = g;
  // A rotated, revoked or expired key's own secret: refused and audited under that key, and
  // not counted as a guess (auth/stale-secret.ts).
  const stale = auth.code === ErrorCode.AUTH_INVALID_KEY ? staleSecretOf(cred, auth, deps.keys) : null;
  if (stale) {
    ctx.event.keyId = stale.record.id;
    ctx.event.keyName = stale.record.name;
    return ctx.refuse(new WardenError(auth.code, auth.message, { reason: `stale secret of ${stale.record.id}: ${auth.reason}` }));
  }
  if (ctx.lockedFor > 0) return lockedOut(g, ctx);
  ctx.authRefusal = true;
  // Wrong or malformed credentials count towards the lockout; a request with none at all
  // (a client probing before it sends its key) is refused just as cheaply and not counted.
  const missing = auth.code === ErrorCode.AUTH_MISSING;
  let holdMs = 0;
  if (!missing) {
    deps.lockout.fail(ctx.address);
    // Repeated failures from one address are slowed down before they are locked out.
    holdMs = deps.lockout.delayMs(ctx.address);
  }
  // Past a burst per second from all addresses together (a flood with a new address per
  // attempt never trips the lockout), every failure waits the tarpit's pause too. Keyless
  // requests have a burst of their own (auth/flood-brake.ts says why).
  if (g.tarpitMs > 0 && g.floodBrake.holdBack(missing ? 'missing' : 'failed')) holdMs = Math.max(holdMs, g.tarpitMs);
  const outcome = holdMs > 0 ? await held(g, ctx, holdMs, auth) : 'answer';
  if (outcome !== 'gone') ctx.refuse(auth, outcome === 'answer-and-close');
}

/** Past a small burst, a locked-out address gets its 429 only after a pause: a flooder that
 *  waits for answers (every HTTP client does) is slowed to one refusal per connection per
 *  pause, so a flood from one address costs us almost nothing instead of a full TLS answer
 *  per attempt, while a client retrying now and then is still answered at once. */
async function lockedOut(g: Gateway, ctx: RequestContext): Promise<void> {
  const { deps } = g;
  ctx.authRefusal = true;
  const err = new WardenError(ErrorCode.AUTH_LOCKED_OUT, 'too many failed authentication attempts; try again later', {
    headers: { 'retry-after': String(ctx.lockedFor) },
    reason: 'address locked out after repeated authentication failures',
  });
  const outcome = g.tarpitMs > 0 && deps.lockout.holdBack(ctx.address) ? await held(g, ctx, g.tarpitMs, err) : 'answer';
  if (outcome !== 'gone') ctx.refuse(err, outcome === 'answer-and-close');
}

/**
 * Holds a refusal in the tarpit (tarpit.ts) before it is answered. While it waits, its
 * connection is marked, so a request pipelined behind it closes the connection instead of
 * dodging the pause (before-auth.ts). 'gone': nothing more to answer (the client left, the
 * connection was closed, or too many refusals are held already: then it is closed now, which
 * costs less than an answer); the refusal is audited and counted here all the same.
 * 'answer-and-close': Warden is shutting down. A refusal its proxy cannot spare a connection
 * for ('busy') is answered at once.
 */
async function held(g: Gateway, ctx: RequestContext, ms: number, err: WardenError): Promise<'answer' | 'answer-and-close' | 'gone'> {
  const { conn, socket } = ctx;
  // Through a trusted proxy, its connections are shared with its other clients (tarpit.ts).
  const peer = normaliseAddress(socket.remoteAddress);
  if (conn) conn.tarpitted = true;
  const outcome = await g.tarpit.hold(ms, g.trusted.has(peer) ? addressKey(peer) : null);
  if (conn) conn.tarpitted = false;
  if (outcome === 'full') {
    markRefused(socket);
    socket.destroy();
  }
  if (socket.destroyed) {
    ctx.refusedCode = err.code;
    const why = outcome === 'full' ? 'too many refusals held in the tarpit, connection closed' : wasRefused(socket) ? 'connection closed' : 'client left';
    ctx.finish(err.status, { reason: `${err.reason}; ${why}` });
    return 'gone';
  }
  return outcome === 'released' ? 'answer-and-close' : 'answer';
}

function refused(ctx: RequestContext, err: WardenError): null {
  ctx.refuse(err);
  return null;
}
