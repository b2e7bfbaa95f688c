// The client's address for lockout and the audit log. X-Forwarded-For is believed only when the
// connection comes from a configured reverse proxy; otherwise anyone could pick their own
// address and walk around the failed-auth lockout.
import type { IncomingMessage } from 'node:http';
import { normaliseAddress } from './connections.ts';

export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = normaliseAddress(req.socket.remoteAddress);
  if (trustedProxies.size === 0 || !trustedProxies.has(peer)) return peer;
  const xff = req.headers['x-forwarded-for'];
  if (typeof xff !== 'string') return peer;
  // One hop (a single proxy in front): no list to build.
  if (!xff.includes(',')) {
    const hop = normaliseAddress(xff.trim());
    return trustedProxies.has(hop) ? peer : hop;
  }
  // Walk from the right: the last hop not ours is the client.
  const hops = xff.split(',').map((h) => normaliseAddress(h.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trustedProxies.has(hops[i]!)) return hops[i]!;
  return peer;
}
