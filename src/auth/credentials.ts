// Which credential did the client present? (docs/design.md §3 "Accepted credentials" and "Exactly one
// credential per request".) Pure parsing: no store, no crypto verification — those come after,
// in the order key-format → store lookup → hash compare (or ollama-signature verify).
//
// Node folds repeated headers before we see them: a second `Authorization` is DROPPED and a
// second `X-API-Key` is JOINED with ", " (node:http `IncomingMessage.headers`). An attacker who
// can add a header behind a front proxy could then choose which credential wins, so duplicates
// are counted on `rawHeaders`, which keeps every line as sent.
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, WardenError } from '../errors.ts';
import { KEY_PREFIX } from './key-format.ts';

export type KeyMethod = 'bearer' | 'x-api-key' | 'basic';

export type Credential =
  | { kind: 'none' }
  | { kind: 'key'; key: string; method: KeyMethod }
  | {
      kind: 'ollama-signature';
      /** base64 ssh-wire ed25519 public key, exactly as sent (the part before ':'). */
      publicKey: string;
      /** the raw 64-byte Ed25519 signature */
      signature: Buffer;
      /** the `ts` query parameter, Unix seconds */
      ts: number;
      /** the bytes the stock CLI signed: `METHOD,PATH?ts=TS` */
      signedData: string;
    }
  /** malformed or ambiguous: the refusal (400) */
  | { kind: 'error'; error: WardenError };

/** Query parameter names that carry credentials in other gateways (LiteLLM, Google APIs, …).
 *  A key in a URL ends up in access logs, browser history and Referer headers. */
const CREDENTIAL_PARAMS = new Set([
  'key',
  'api_key',
  'apikey',
  'api-key',
  'x-api-key',
  'access_token',
  'token',
  'auth',
  'authorization',
  'password',
]);

const TOKEN_RE = /^[\x21-\x7e]+$/; // visible ASCII, no spaces: what a Warden key or any bearer token is
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Stock ollama CLI (auth.Sign): `<base64 ssh-wire pubkey>:<base64 signature>`, no scheme word.
const OLLAMA_SIG_RE = /^(AAAA[A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;
const TS_RE = /^[0-9]{1,12}$/;

function refuse(code: typeof ErrorCode.AUTH_MALFORMED | typeof ErrorCode.AUTH_AMBIGUOUS, message: string, reason: string): Credential {
  return { kind: 'error', error: new WardenError(code, message, { reason }) };
}

/** How often `authorization` and `x-api-key` appear as sent. Names of other lengths are skipped
 *  without lower-casing them: this runs on every request, a flood of bad keys included. */
function countCredentialHeaders(rawHeaders: readonly string[]): { auth: number; apiKey: number } {
  let auth = 0;
  let apiKey = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') auth++;
    else if (name.length === 9 && name.toLowerCase() === 'x-api-key') apiKey++;
  }
  return { auth, apiKey };
}

function splitTarget(url: string): { path: string; query: string } {
  const hash = url.indexOf('#');
  const target = hash === -1 ? url : url.slice(0, hash);
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** Shared by every request without a query string (read only, never modified). */
const EMPTY_PARAMS = new URLSearchParams();

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The one credential of a request, or why there is not exactly one well-formed credential.
 * `method` is the request method (it is part of what the ollama CLI signs).
 */
export function extractCredential(
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
  url: string,
  method: string,
): Credential {
  const { path, query } = splitTarget(url);
  const params = query === '' ? EMPTY_PARAMS : new URLSearchParams(query);

  // 1. No credentials in the URL. `ts` (the ollama CLI's timestamp) is not a credential.
  for (const [name, value] of params) {
    const named = CREDENTIAL_PARAMS.has(name.toLowerCase());
    if (named || value.includes(KEY_PREFIX) || name.includes(KEY_PREFIX)) {
      return refuse(
        ErrorCode.AUTH_AMBIGUOUS,
        'credentials are not accepted in the URL; send them in the Authorization or X-API-Key header',
        // the audit reason names the parameter only when the name itself cannot be the key
        named ? `credential in query parameter "${name.toLowerCase()}"` : 'Warden key in the query string',
      );
    }
  }

  // 2. Exactly one credential header, present at most once.
  const { auth: nAuth, apiKey: nApiKey } = countCredentialHeaders(rawHeaders);
  if (nAuth > 1 || nApiKey > 1) {
    return refuse(ErrorCode.AUTH_AMBIGUOUS, 'send exactly one credential header', 'repeated credential header');
  }
  if (nAuth + nApiKey > 1) {
    return refuse(
      ErrorCode.AUTH_AMBIGUOUS,
      'send exactly one credential header',
      'both Authorization and X-API-Key present',
    );
  }

  const apiKey = headerValue(headers['x-api-key']);
  if (nApiKey === 1 || apiKey !== undefined) {
    const key = (apiKey ?? '').trim();
    if (!TOKEN_RE.test(key)) return refuse(ErrorCode.AUTH_MALFORMED, 'malformed X-API-Key header', 'malformed X-API-Key');
    return { kind: 'key', key, method: 'x-api-key' };
  }

  const auth = headerValue(headers.authorization);
  if (nAuth === 0 && auth === undefined) return { kind: 'none' };
  const value = (auth ?? '').trim();
  if (value === '') return refuse(ErrorCode.AUTH_MALFORMED, 'empty Authorization header', 'empty Authorization');

  const space = value.indexOf(' ');
  const scheme = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const rest = space === -1 ? '' : value.slice(space + 1).trim();

  // RFC 9110 §11.1: the scheme word is case-insensitive.
  if (scheme === 'bearer') {
    if (!TOKEN_RE.test(rest)) return refuse(ErrorCode.AUTH_MALFORMED, 'malformed Bearer token', 'malformed Bearer');
    return { kind: 'key', key: rest, method: 'bearer' };
  }

  if (scheme === 'basic') {
    // RFC 7617: base64(user-id ":" password). Clients that only take a URL (https://u:KEY@host)
    // send the key as the password; the user name is ignored.
    if (rest === '' || !BASE64_RE.test(rest)) {
      return refuse(ErrorCode.AUTH_MALFORMED, 'malformed Basic credentials', 'Basic: bad base64');
    }
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return refuse(ErrorCode.AUTH_MALFORMED, 'malformed Basic credentials', 'Basic: no colon');
    let key = decoded.slice(colon + 1);
    // `https://KEY@host` puts the key in the user name with an empty password; accept that
    // form only for a Warden-shaped key so an empty password is otherwise still malformed.
    if (key === '' && decoded.startsWith(KEY_PREFIX)) key = decoded.slice(0, colon);
    if (!TOKEN_RE.test(key)) return refuse(ErrorCode.AUTH_MALFORMED, 'malformed Basic credentials', 'Basic: bad password');
    return { kind: 'key', key, method: 'basic' };
  }

  if (space === -1) {
    const m = OLLAMA_SIG_RE.exec(value);
    if (m) return ollamaSignature(m[1] ?? '', m[2] ?? '', params, method, path);
  }

  return refuse(ErrorCode.AUTH_MALFORMED, 'unsupported Authorization scheme', `unsupported scheme "${scheme.slice(0, 16)}"`);
}

function ollamaSignature(
  publicKey: string,
  sigB64: string,
  params: URLSearchParams,
  method: string,
  path: string,
): Credential {
  if (!BASE64_RE.test(publicKey) || !BASE64_RE.test(sigB64)) {
    return refuse(ErrorCode.AUTH_MALFORMED, 'malformed ollama signature', 'ollama signature: bad base64');
  }
  const signature = Buffer.from(sigB64, 'base64');
  if (signature.length !== 64) {
    return refuse(ErrorCode.AUTH_MALFORMED, 'malformed ollama signature', 'ollama signature: not 64 bytes');
  }
  const tsValues = params.getAll('ts');
  const tsRaw = tsValues[0];
  if (tsValues.length !== 1 || tsRaw === undefined || !TS_RE.test(tsRaw)) {
    return refuse(
      ErrorCode.AUTH_MALFORMED,
      'ollama signature needs exactly one ?ts= query parameter',
      'ollama signature: missing or bad ts',
    );
  }
  // api/client.go: chal := fmt.Sprintf("%s,%s?ts=%s", method, path, now)
  return { kind: 'ollama-signature', publicKey, signature, ts: Number(tsRaw), signedData: `${method},${path}?ts=${tsRaw}` };
}
