// Who is calling the admin API. Scripts send `Authorization: Bearer <admin key>`; the browser
// sends the session cookie, plus `X-CSRF-Token` on every state change. A Bearer header cannot be
// attached by a cross-site form or image, so only cookie requests need the CSRF token.
// A valid key without the admin scope gets 403, everything else 401 (docs/design.md §3, §8).
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, WardenError } from '../errors.ts';
import { keyState, type KeyRecord } from '../store/types.ts';
import type { AdminDeps } from './deps.ts';
import { clientAddress, readSessionCookie } from './http.ts';
import { csrfMatches, sessionEndReason, type Session, type SessionStore } from './sessions.ts';
import type { AttemptLimiter } from './rate-limit.ts';
import { fromLocalPeer, localTokenAllows } from './local-token.ts';

/** The actor of actions taken with the local control token. */
export const LOCAL_CLI_ID = 'local-cli';
/** How local CLI calls (`warden status`, `reload`, `lockout`) name themselves in the audit log. */
export const LOCAL_CLI_NAME = 'local control';

export interface AdminPrincipal {
  keyId: string;
  keyName: string;
  /** 'local' = the local control token of this machine's CLI. */
  via: 'bearer' | 'session' | 'local';
  /** Present for cookie requests. */
  session: Session | null;
  sessionId: string | null;
}

const principals = new WeakMap<FastifyRequest, AdminPrincipal>();
/** The same principal by the node request, for the gateway's per-request audit line. */
const rawPrincipals = new WeakMap<IncomingMessage, AdminPrincipal>();

function setPrincipal(req: FastifyRequest, p: AdminPrincipal): void {
  principals.set(req, p);
  rawPrincipals.set(req.raw, p);
}

/** Who made an admin request, once `requireAdmin` accepted it (undefined for public paths and refusals). */
export function principalOfRaw(req: IncomingMessage): AdminPrincipal | undefined {
  return rawPrincipals.get(req);
}

/** The authenticated caller of a route guarded by `requireAdmin`. */
export function principalOf(req: FastifyRequest): AdminPrincipal {
  const p = principals.get(req);
  if (!p) throw new WardenError(ErrorCode.INTERNAL, 'admin route without authentication');
  return p;
}

/** The actor recorded in the audit log for a management action. */
export function actorOf(req: FastifyRequest): string {
  const p = principalOf(req);
  // Id and name: the id stays unique after a rename or delete, the name is what people read.
  return `${p.keyId} (${p.keyName})`;
}

/** 401: AUTH_INVALID_KEY (RFC 6750's error="invalid_token") when a key was presented and is not
 *  valid, AUTH_MISSING (the bare challenge) when no credential, or only a session cookie, came. */
export function unauthenticated(message: string, code: typeof ErrorCode.AUTH_MISSING | typeof ErrorCode.AUTH_INVALID_KEY = ErrorCode.AUTH_MISSING): WardenError {
  return new WardenError(code, message);
}

export function notAdmin(): WardenError {
  return new WardenError(ErrorCode.FORBIDDEN_SCOPE, 'this key does not have the admin scope');
}

export function isAdminKey(k: KeyRecord, now: Date = new Date()): boolean {
  return keyState(k, now) === 'active' && k.scopes.includes('admin');
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A browser always sends Origin on cross-origin state changes; when present it must be us. */
function originMatches(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export interface AuthContext {
  deps: AdminDeps;
  sessions: SessionStore;
  /** Counts failed Bearer attempts per address, so the admin API is no brute-force oracle. */
  failures: AttemptLimiter;
}

export function makeRequireAdmin(ctx: AuthContext) {
  return async function requireAdmin(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const authz = req.headers.authorization;
    if (authz !== undefined) {
      const m = /^Bearer +([^\s]+) *$/i.exec(authz);
      if (!m) throw new WardenError(ErrorCode.AUTH_MALFORMED, 'Authorization header must be "Bearer <admin key>"');
      if (ctx.deps.isLocalToken(m[1]!)) {
        if (!fromLocalPeer(req)) {
          // Someone off this machine holds the token (a backup, a log): no hint that it is one.
          ctx.failures.hit(clientAddress(req));
          ctx.deps.audit({ kind: 'admin.auth_failed', authMethod: 'bearer', clientAddress: clientAddress(req), method: req.method, path: req.url.split('?')[0] ?? null, status: 401, reason: 'local control token from a remote peer' });
          throw unauthenticated('invalid API key', ErrorCode.AUTH_INVALID_KEY);
        }
        if (!localTokenAllows(req.method, req.url)) {
          throw new WardenError(ErrorCode.FORBIDDEN_SCOPE, 'the local control token may only read status, reload and manage lockouts; use an admin key');
        }
        setPrincipal(req, { keyId: LOCAL_CLI_ID, keyName: LOCAL_CLI_NAME, via: 'local', session: null, sessionId: null });
        return;
      }
      const key = await ctx.deps.authenticateKey(m[1]!);
      if (!key) {
        const limited = ctx.failures.hit(clientAddress(req));
        ctx.deps.audit({ kind: 'admin.auth_failed', authMethod: 'bearer', clientAddress: clientAddress(req), method: req.method, path: req.url.split('?')[0] ?? null, status: 401, reason: 'invalid key' });
        if (!limited.allowed) {
          throw new WardenError(ErrorCode.AUTH_LOCKED_OUT, 'too many failed attempts; try again later', { headers: { 'retry-after': String(limited.retryAfterSeconds) } });
        }
        throw unauthenticated('invalid API key', ErrorCode.AUTH_INVALID_KEY);
      }
      if (!isAdminKey(key)) throw notAdmin();
      setPrincipal(req, { keyId: key.id, keyName: key.name, via: 'bearer', session: null, sessionId: null });
      return;
    }

    const sid = readSessionCookie(req);
    if (!sid) throw unauthenticated('sign in with an admin key');
    const session = ctx.sessions.get(sid);
    if (!session) throw unauthenticated('your session has expired; sign in again');
    // The secret behind a session can stop being valid at any time, from the CLI or another
    // instance (revoked, deleted, expired, rotated, admin scope removed): read the key's current
    // record from the store and end the session by the one rule in sessions.ts.
    const key = await ctx.deps.store.keys.get(session.keyId);
    const ended = sessionEndReason(session, key);
    if (ended || !key) {
      ctx.sessions.delete(sid);
      throw unauthenticated(`your session has ended because ${ended ?? 'its key was deleted'}; sign in again`);
    }
    if (!SAFE_METHODS.has(req.method)) {
      if (!originMatches(req)) throw new WardenError(ErrorCode.FORBIDDEN_POLICY, 'cross-origin request refused');
      if (!csrfMatches(session, req.headers['x-csrf-token'] as string | undefined)) {
        throw new WardenError(ErrorCode.FORBIDDEN_POLICY, 'missing or wrong X-CSRF-Token header', { reason: 'csrf' });
      }
    }
    setPrincipal(req, { keyId: key.id, keyName: key.name, via: 'session', session, sessionId: sid });
  };
}
