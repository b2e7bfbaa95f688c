// Cross-site request forgery through cached Basic credentials. A browser that
// once sent Basic credentials to Warden attaches them by itself to later requests to the same
// origin — including a form another site submits (`<form method=post enctype=text/plain>`), which
// needs no CORS preflight. Ollama's Go handlers decode a JSON body whatever its Content-Type, so
// `name={"model":"x","y":"=z"}` posted as text/plain is a working /api/pull, /api/delete or
// /api/create. Bearer and X-API-Key headers are only ever set by a script, and a cross-origin
// script must pass a preflight first (CORS), so the rule is for Basic credentials only:
//   - a JSON route must be sent with Content-Type application/json (or another `+json` type),
//     which no HTML form can send;
//   - any other request that may change something (not GET/HEAD) must not be a cross-site one
//     by the browser's own account (Sec-Fetch-Site), which covers multipart and blob uploads.
// Clients that are not browsers (curl -u, scripts) send neither a form type by accident nor
// Sec-Fetch-Site, except curl's `-d` default (x-www-form-urlencoded): they are told to say JSON.

import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, WardenError } from '../errors.ts';
import type { BodyKind } from './routes.ts';

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]*\+)?json[ \t]*(?:;|$)/i;

/** null when the request may go on, else the refusal (415 for a JSON route sent as another type, 403). */
export function basicCredentialFormRefusal(
  method: string,
  bodyKind: BodyKind,
  headers: IncomingHttpHeaders,
): WardenError | null {
  if (method === 'GET' || method === 'HEAD') return null;
  if (bodyKind === 'json' && !JSON_TYPE.test(headers['content-type'] ?? '')) {
    return refuse(
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      'with Basic credentials, send the request body with Content-Type: application/json (a browser form cannot, so a cached login cannot be used by another site)',
    );
  }
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    return refuse(ErrorCode.FORBIDDEN_POLICY, 'a cross-site browser request with Basic credentials is refused');
  }
  return null;
}

function refuse(code: typeof ErrorCode.UNSUPPORTED_MEDIA_TYPE | typeof ErrorCode.FORBIDDEN_POLICY, message: string): WardenError {
  return new WardenError(code, message, { reason: `Basic credentials: ${message.slice(0, 80)}` });
}
