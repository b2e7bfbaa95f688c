// Header rewriting between the client and Ollama, both ways.
//
// Upstream: the client's credentials never reach Ollama (docs/design.md §3), hop-by-hop headers are
// per-connection and must not be forwarded (RFC 9110 §7.6.1), Host becomes the upstream's own
// host:port (Ollama answers 403 to a foreign Host when it listens on loopback — its
// allowedHostsMiddleware, the DNS-rebinding guard), and X-Forwarded-* tell Ollama's logs who asked.
// Downstream: an allow-list (DOWNSTREAM_ALLOWED). Ollama's answers carry only a few headers; any
// other header an upstream (or whatever answers on its address) sends could override Warden's own:
// HSTS max-age=0, a weaker CSP, X-Frame-Options, a Set-Cookie for warden_session, a CORS grant, a
// WWW-Authenticate prompt. Warden's security and CORS headers are set by Warden.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers that belong to one connection, not to the message (RFC 9110 §7.6.1, RFC 9112 §9.6). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
]);

/** Client headers Warden consumes or replaces itself and never passes on. */
const DROPPED_UPSTREAM = new Set([
  // credentials: Warden checked them; Ollama must not see them (docs/design.md §3)
  'authorization',
  'x-api-key',
  'cookie',
  // replaced below; a client-supplied value would let it spoof its address in Ollama's logs
  'host',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  // undici computes Content-Length from the body it is given (the caller may have re-serialised
  // it) and refuses Expect (Node's server already answered 100-continue for us)
  'content-length',
  'expect',
  // Warden reads token counts from, and filters, Ollama's answers: ask for them uncompressed.
  // Traffic to Ollama is normally loopback, where compression only costs CPU.
  'accept-encoding',
]);

export interface UpstreamHeaderContext {
  /** host:port of the upstream, sent as Host. */
  upstreamHost: string;
  /** The client's address as Warden determined it (already resolved through trusted proxies). */
  clientAddress: string;
  proto: 'https' | 'http';
  /** A Content-Length to send for streamed bodies (blob uploads), when the client declared one. */
  contentLength?: number;
}

/** Names listed in the Connection header are hop-by-hop for this message as well. */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  if (value === undefined) return out;
  for (const v of Array.isArray(value) ? value : [value]) {
    for (const token of v.split(',')) {
      const t = token.trim().toLowerCase();
      if (t) out.add(t);
    }
  }
  return out;
}

function isHopByHop(name: string, listed: Set<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || listed.has(name);
}

/**
 * Builds the headers sent to Ollama from the client's raw headers (rawHeaders keeps repeated
 * headers and their order). Returns a flat [name, value, name, value…] list as undici accepts.
 */
export function upstreamHeaders(rawHeaders: readonly string[], headers: IncomingHttpHeaders, ctx: UpstreamHeaderContext): string[] {
  const listed = connectionTokens(headers.connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (DROPPED_UPSTREAM.has(name) || isHopByHop(name, listed)) continue;
    out.push(name, rawHeaders[i + 1] as string);
  }
  out.push('host', ctx.upstreamHost);
  out.push('x-forwarded-for', ctx.clientAddress);
  out.push('x-forwarded-proto', ctx.proto);
  if (typeof headers.host === 'string') out.push('x-forwarded-host', headers.host);
  out.push('accept-encoding', 'identity');
  if (ctx.contentLength !== undefined) out.push('content-length', String(ctx.contentLength));
  return out;
}

/**
 * The only upstream answer headers a client sees (docs/security.md lists them). What Ollama sends
 * (server/routes.go, middleware/openai.go, anthropic.go): Content-Type, Content-Length, Date, and
 * Cache-Control on its SSE streams; Transfer-Encoding/Connection are per-connection and Node sets
 * its own. Content-Encoding keeps a body readable should an upstream compress it anyway, and
 * Retry-After tells a client when to come back after a 429/503.
 */
export const DOWNSTREAM_ALLOWED: readonly string[] = ['content-type', 'content-length', 'content-encoding', 'date', 'cache-control', 'retry-after'];
const DOWNSTREAM_SET = new Set(DOWNSTREAM_ALLOWED);

/**
 * Copies the allowed headers of Ollama's answer for the client. `dropLength` removes
 * Content-Length when Warden changes the body (a filtered model list).
 */
export function downstreamHeaders(upstream: Record<string, string | string[] | undefined>, dropLength: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const rawName in upstream) {
    const value = upstream[rawName];
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (!DOWNSTREAM_SET.has(name)) continue;
    if (dropLength && name === 'content-length') continue;
    out[name] = value;
  }
  return out;
}

/** Upstream statuses never relayed: a redirect would send the client (and its key) elsewhere, a
 *  407 would have it prompt for "proxy" credentials. They become 502. */
export function refusedUpstreamStatus(status: number): boolean {
  return (status >= 300 && status < 400) || status === 407;
}
