// CORS for browser-based Ollama clients: web apps, browser extensions,
// Electron/Tauri apps and VS Code webviews call Ollama from a page, and the browser first sends a
// preflight (OPTIONS with Origin and Access-Control-Request-*), never with credentials. Ollama
// answers those itself for its allowed origins (OLLAMA_ORIGINS plus the defaults below,
// envconfig.AllowedOrigins and gin-contrib/cors with AllowBrowserExtensions); so does Warden,
// before authentication, and the preflight never reaches Ollama.
//
// What a page may do is exactly what its key allows: the key travels in Authorization or
// X-API-Key, which the page sets itself. Warden never sends Access-Control-Allow-Credentials, so
// a page can never ride on cookies or cached Basic credentials, and the admin paths (/_warden/*)
// get no CORS grant at all.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request headers a page may send: Ollama's list (server/routes.go), Warden's X-API-Key, and
 *  what the Anthropic SDK sends from a browser. */
const ALLOWED_HEADERS = [
  'Authorization',
  'X-API-Key',
  'Content-Type',
  'User-Agent',
  'Accept',
  'X-Requested-With',
  'OpenAI-Beta',
  'x-stainless-arch',
  'x-stainless-async',
  'x-stainless-custom-poll-interval',
  'x-stainless-helper-method',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-poll-helper',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
  'anthropic-version',
  'anthropic-beta',
  'anthropic-dangerous-direct-browser-access',
].join(', ');
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS';
/** Chromium caps a preflight's cache at 2 hours; longer is ignored. */
const MAX_AGE_SECONDS = '7200';

export interface CorsPolicy {
  /** Whether a page of `origin` may read Warden's answers. */
  allows(origin: string): boolean;
}

/** Builds the policy from `cors.origins` (checked by the config schema) once, at start-up. */
export function compileCors(origins: readonly string[]): CorsPolicy {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  let any = false;
  for (const entry of origins) {
    const o = entry.trim();
    if (o === '*') {
      any = true;
      continue;
    }
    if (!o.includes('*')) {
      exact.add(o.toLowerCase());
      continue;
    }
    // A `:*` port matches digits only; any other `*` matches within the host part.
    const re = o
      .toLowerCase()
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .reduce((acc, part, j) => (j === 0 ? part : acc + (acc.endsWith(':') ? '\\d{1,5}' : '[^/?#\\s:@]*') + part), '');
    patterns.push(new RegExp(`^${re}$`));
  }
  return {
    allows(origin: string): boolean {
      if (any) return true;
      const o = origin.toLowerCase();
      return exact.has(o) || patterns.some((p) => p.test(o));
    },
  };
}

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (RFC 9110 + Fetch). */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/** Grants an allowed origin read access to this answer (set before any answer is written). */
export function grantOrigin(res: ServerResponse, origin: string): void {
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'Origin');
}

/** Answers a preflight from an allowed origin: 204 with what the page may send. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, origin: string): void {
  const headers: Record<string, string> = {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': ALLOWED_METHODS,
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': MAX_AGE_SECONDS,
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'cache-control': 'no-store',
  };
  // Chromium's Private Network Access: a public page asking to reach a private address. The
  // operator listed the origin; the key is still required on the real request.
  if (req.headers['access-control-request-private-network'] === 'true') headers['access-control-allow-private-network'] = 'true';
  res.writeHead(204, headers);
  res.end();
}
