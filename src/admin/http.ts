// Response plumbing shared by every admin route: the security headers, the session cookie and
// what Fastify's own errors mean in Warden's error model. Kept apart from the routes so each route file reads as "validate, act, answer".
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, WardenError, isWardenError, type ErrorCodeValue } from '../errors.ts';
import { internalError } from '../api-errors.ts';
import { SESSION_COOKIE, SESSION_ABSOLUTE_MS } from './sessions.ts';

export const ADMIN_PREFIX = '/_warden';

/** No inline script or style, no third-party origin, no framing (clickjacking), no <base> tricks. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Admin answers carry keys, secrets and audit data: no cache may keep them. Hashed assets
  // override this with a long max-age.
  'cache-control': 'no-store',
});

export function sessionCookie(id: string): string {
  return `${SESSION_COOKIE}=${id}; Path=${ADMIN_PREFIX}/; Max-Age=${SESSION_ABSOLUTE_MS / 1000}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=${ADMIN_PREFIX}/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

/** The session cookie's value, or undefined. Only our cookie is looked at; no decoding is needed
 *  because our ids are base64url. */
export function readSessionCookie(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The client address the gateway resolved for each request (X-Forwarded-For believed only from
 *  security.trustedProxies, server/client-address.ts), so the sign-in limits and the admin audit
 *  events name the real client behind a balancer, not the balancer. */
const resolved = new WeakMap<IncomingMessage, string>();

export function rememberClientAddress(raw: IncomingMessage, address: string): void {
  resolved.set(raw, address);
}

/** The client's address as the gateway resolved it (the socket's peer if it never did). */
export function clientAddress(req: FastifyRequest): string {
  return resolved.get(req.raw) ?? req.raw.socket.remoteAddress ?? 'unknown';
}

/** Fastify's own request errors (bad JSON, wrong content type, body too large) by status: their
 *  messages describe the request, not our code. Any other 4xx of Fastify's is a 400. */
const FASTIFY_CODES = new Map<number, ErrorCodeValue>([
  [404, ErrorCode.ROUTE_NOT_FOUND],
  [413, ErrorCode.BODY_TOO_LARGE],
  [415, ErrorCode.UNSUPPORTED_MEDIA_TYPE],
]);

/** Anything an admin route or Fastify threw, as the one error type: a WardenError as it is, a
 *  Fastify request error (4xx) with its message, anything else an internal error. */
export function asWardenError(err: unknown): WardenError {
  if (isWardenError(err)) return err;
  const e = err as { statusCode?: unknown; message?: unknown } | null;
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const message = typeof e.message === 'string' ? e.message : 'bad request';
    return new WardenError(FASTIFY_CODES.get(e.statusCode) ?? ErrorCode.BAD_REQUEST, message, { cause: err });
  }
  return internalError(err);
}

export function badRequest(message: string): WardenError {
  return new WardenError(ErrorCode.BAD_REQUEST, message);
}
