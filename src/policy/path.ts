// The request target, made canonical or refused (docs/design.md §3 "Requests are read strictly").
// A proxy and the server behind it must agree on what path a request names; every way two
// parsers can disagree — dot segments, encoded slashes or dots, backslashes, doubled slashes,
// NUL, non-ASCII — is refused here rather than normalised, so the route the policy checked is
// exactly the route Ollama serves. (Path-confusion bypasses of this kind: CVE-2021-41773 in
// Apache, CVE-2025-29927's cousins in Next.js middleware, nginx `merge_slashes` off-by-ones.)
//
// Percent-encoding: refused everywhere in the path, with one exception — the model name in
// `GET /v1/models/{model}`. The OpenAI SDKs encode that segment with encodeURIComponent, so
// `llama3:latest` arrives as `llama3%3Alatest`. There, escapes are decoded and the result must be
// a plain model name (letters, digits, `.`, `_`, `-`, `:`); `%2F`, `%2E%2E`, `%00` and friends
// still fail. The returned path is the decoded one; forward that.
//
// Letter case is not changed: `/API/chat` is simply not a route (404 from the route table),
// never folded onto `/api/chat`.

import { ErrorCode, WardenError } from '../errors.ts';

export type CanonicalTarget = { path: string; query: URLSearchParams };

// Stricter than RFC 3986 pchar on purpose: no Ollama or Warden route uses ; , = ! $ & ' ( ) *,
// and `;` in particular is a path parameter to some servers (`/..;/` bypasses in Tomcat/Spring).
const PATH_CHARS = /^[A-Za-z0-9\-._~:@+/]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
const V1_MODEL_PREFIX = '/v1/models/';
const MODEL_SEGMENT = /^[A-Za-z0-9._:-]+$/;

/** A 400 that says only "bad request": the detail (`reason`) is for the audit log, not for a
 *  prober mapping which spellings get through. */
function refuse(reason: string): WardenError {
  return new WardenError(ErrorCode.BAD_REQUEST, 'bad request', { reason });
}

/** `rawUrl` is `req.url` as Node gives it: the request-target, untouched. */
export function canonicalPath(rawUrl: string): CanonicalTarget | WardenError {
  if (rawUrl.length === 0) return refuse('empty request target');
  // Absolute-form (`GET http://other-host/api/tags`) is only for forward proxies (RFC 9112 §3.2.2);
  // accepting it invites host confusion. Authority-form (CONNECT) and asterisk-form likewise.
  if (rawUrl[0] !== '/') return refuse('request target must be a path (origin-form)');
  if (rawUrl.includes('#')) return refuse('fragment in request target');

  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q === -1 ? '' : rawUrl.slice(q + 1);

  if (rawPath.includes('\\')) return refuse('backslash in path');
  if (rawPath.includes('//')) return refuse('empty path segment (//)');

  let path = rawPath;
  if (rawPath.includes('%')) {
    const decoded = decodeModelSegment(rawPath);
    if (decoded === null) return refuse('percent-encoding in path');
    path = decoded;
  } else if (!PATH_CHARS.test(rawPath)) {
    return refuse('invalid character in path');
  }

  for (const seg of path.split('/')) {
    if (/^\.+$/.test(seg)) return refuse('dot segment in path');
  }

  if (!QUERY_CHARS.test(rawQuery)) return refuse('invalid character in query');
  if (/%(?![0-9A-Fa-f]{2})/.test(rawQuery)) return refuse('bad percent-encoding in query');
  if (/%00/.test(rawQuery)) return refuse('NUL in query');
  return { path, query: new URLSearchParams(rawQuery) };
}

/** `/v1/models/<escaped model>` → decoded path, or null when any other escape is present. */
function decodeModelSegment(rawPath: string): string | null {
  if (!rawPath.startsWith(V1_MODEL_PREFIX)) return null;
  const seg = rawPath.slice(V1_MODEL_PREFIX.length);
  if (seg.includes('/')) return null;
  if (!/^(?:[A-Za-z0-9._~:-]|%[0-9A-Fa-f]{2})+$/.test(seg)) return null;
  let model: string;
  try {
    model = decodeURIComponent(seg);
  } catch {
    return null;
  }
  if (!MODEL_SEGMENT.test(model) || model === '.' || model === '..') return null;
  return V1_MODEL_PREFIX + model;
}
