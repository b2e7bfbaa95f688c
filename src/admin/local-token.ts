// The local control token (<data>/run/admin-token, mode 0600, new on every start) lets `warden
// status`, `warden reload` and `warden lockout` on this machine talk to the running server
// without an admin key. It is no admin key: it is accepted only from a peer on this machine
// that is not relaying for someone else, and only for the routes those commands call. Read
// from the 0.0.0.0 listener by anyone who learnt it (a backup, a leaked log), it is refused.
import type { FastifyRequest } from 'fastify';
import { isIPv4, isIPv6 } from 'node:net';
import { ADMIN_PREFIX } from './http.ts';

/** Method and path of every route the token may call. The admission lane's `warden lockout
 *  list|clear` adds its two routes here. */
export const LOCAL_TOKEN_ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['GET', `${ADMIN_PREFIX}/api/status`],
  ['POST', `${ADMIN_PREFIX}/api/reload`],
  ['GET', `${ADMIN_PREFIX}/api/lockouts`],
  ['DELETE', `${ADMIN_PREFIX}/api/lockouts`],
];

function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(a)) return a.startsWith('127.');
  return isIPv6(a) && a === '::1';
}

/** The TCP peer is this machine (loopback, or the very address it connected to) and the
 *  request names no other client it is relaying for (a reverse proxy on localhost would). */
export function fromLocalPeer(req: FastifyRequest): boolean {
  const socket = req.raw.socket;
  const peer = socket.remoteAddress;
  if (!peer) return false;
  const h = req.headers;
  if (h['x-forwarded-for'] !== undefined || h.forwarded !== undefined || h['x-real-ip'] !== undefined) return false;
  return isLoopback(peer) || peer === socket.localAddress;
}

/** Whether the token may call this route (exact path, no query-string games). */
export function localTokenAllows(method: string, url: string): boolean {
  const path = url.split('?')[0];
  return LOCAL_TOKEN_ROUTES.some(([m, p]) => m === method && (p === path || path?.startsWith(`${p}/`) === true));
}
