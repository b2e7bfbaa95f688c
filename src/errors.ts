// One error type for the whole program (docs/design.md "Errors"). Every error Warden raises on
// purpose has a stable code (for scripts, logs and tests); the code alone decides the HTTP status
// (and, for a 401, the challenge) through one table, STATUS below, so no call site picks a status.
// The message is safe to show to the client or the operator: it never contains a secret.

export const ErrorCode = {
  // configuration and usage (exit code 2)
  CONFIG_INVALID: 'WARDEN_ERR_CONFIG_INVALID',
  USAGE: 'WARDEN_ERR_USAGE',
  // store
  STORE_CORRUPT: 'WARDEN_ERR_STORE_CORRUPT',
  STORE_SCHEMA_NEWER: 'WARDEN_ERR_STORE_SCHEMA_NEWER',
  STORE_UNAVAILABLE: 'WARDEN_ERR_STORE_UNAVAILABLE',
  /** the disk holding the store is full */
  DISK_FULL: 'WARDEN_ERR_DISK_FULL',
  NOT_FOUND: 'WARDEN_ERR_NOT_FOUND',
  CONFLICT: 'WARDEN_ERR_CONFLICT',
  // TLS and certificates
  TLS_INVALID: 'WARDEN_ERR_TLS_INVALID',
  CLIENT_CERT_REFUSED: 'WARDEN_ERR_CLIENT_CERT_REFUSED',
  // authentication (who are you)
  AUTH_MISSING: 'WARDEN_ERR_AUTH_MISSING',
  AUTH_MALFORMED: 'WARDEN_ERR_AUTH_MALFORMED',
  AUTH_AMBIGUOUS: 'WARDEN_ERR_AUTH_AMBIGUOUS',
  AUTH_INVALID_KEY: 'WARDEN_ERR_AUTH_INVALID_KEY',
  AUTH_LOCKED_OUT: 'WARDEN_ERR_AUTH_LOCKED_OUT',
  // authorisation (what may you do)
  FORBIDDEN_SCOPE: 'WARDEN_ERR_FORBIDDEN_SCOPE',
  FORBIDDEN_MODEL: 'WARDEN_ERR_FORBIDDEN_MODEL',
  FORBIDDEN_POLICY: 'WARDEN_ERR_FORBIDDEN_POLICY',
  RATE_LIMITED: 'WARDEN_ERR_RATE_LIMITED',
  // request shape
  ROUTE_NOT_FOUND: 'WARDEN_ERR_ROUTE_NOT_FOUND',
  BAD_REQUEST: 'WARDEN_ERR_BAD_REQUEST',
  /** with Basic credentials a body must be declared JSON (browser-forms.ts): 415 */
  UNSUPPORTED_MEDIA_TYPE: 'WARDEN_ERR_UNSUPPORTED_MEDIA_TYPE',
  /** the request (its body) did not arrive in time: 408 */
  REQUEST_TIMEOUT: 'WARDEN_ERR_REQUEST_TIMEOUT',
  BODY_TOO_LARGE: 'WARDEN_ERR_BODY_TOO_LARGE',
  HEADERS_TOO_LARGE: 'WARDEN_ERR_HEADERS_TOO_LARGE',
  // upstream
  UPSTREAM_UNREACHABLE: 'WARDEN_ERR_UPSTREAM_UNREACHABLE',
  UPSTREAM_TIMEOUT: 'WARDEN_ERR_UPSTREAM_TIMEOUT',
  /** the model is held only by upstreams that are down (several upstreams) */
  UPSTREAM_UNAVAILABLE: 'WARDEN_ERR_UPSTREAM_UNAVAILABLE',
  UPSTREAM_REFUSED_ANSWER: 'WARDEN_ERR_UPSTREAM_REFUSED_ANSWER',
  // the server itself
  SHUTTING_DOWN: 'WARDEN_ERR_SHUTTING_DOWN',
  // capacity: Warden itself is out of a resource (the body memory budget); retry shortly
  OVERLOADED: 'WARDEN_ERR_OVERLOADED',
  // anything else is a bug
  INTERNAL: 'WARDEN_ERR_INTERNAL',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The challenge of a 401 when no credential was sent (RFC 6750 §3: no error attribute then). */
export const WWW_AUTHENTICATE = 'Bearer realm="warden"';
/** The challenge of a 401 for a credential that was sent but is not valid: unknown, wrong,
 *  revoked, expired (RFC 6750 §3.1). */
export const WWW_AUTHENTICATE_INVALID = 'Bearer realm="warden", error="invalid_token"';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const challenge = (value: string): Readonly<Record<string, string>> => Object.freeze({ 'www-authenticate': value });

/** Each code's HTTP status when it ends a request, and the headers every answer with it carries.
 *  The one place a status is chosen: a code has exactly one. */
const STATUS: Readonly<Record<ErrorCodeValue, { status: number; headers: Readonly<Record<string, string>> }>> = {
  // bad input: a config value (a settings PATCH, a reload) or a usage error is the caller's to fix
  [ErrorCode.CONFIG_INVALID]: { status: 400, headers: NO_HEADERS },
  [ErrorCode.USAGE]: { status: 400, headers: NO_HEADERS },
  [ErrorCode.STORE_CORRUPT]: { status: 500, headers: NO_HEADERS },
  [ErrorCode.STORE_SCHEMA_NEWER]: { status: 500, headers: NO_HEADERS },
  [ErrorCode.STORE_UNAVAILABLE]: { status: 503, headers: NO_HEADERS },
  [ErrorCode.DISK_FULL]: { status: 507, headers: NO_HEADERS },
  [ErrorCode.NOT_FOUND]: { status: 404, headers: NO_HEADERS },
  [ErrorCode.CONFLICT]: { status: 409, headers: NO_HEADERS },
  // Warden's own TLS material is unusable (a reload): the server's problem, not the caller's
  [ErrorCode.TLS_INVALID]: { status: 500, headers: NO_HEADERS },
  // no challenge: a certificate, not a token, was refused (the TLS layer is where to fix it)
  [ErrorCode.CLIENT_CERT_REFUSED]: { status: 401, headers: NO_HEADERS },
  [ErrorCode.AUTH_MISSING]: { status: 401, headers: challenge(WWW_AUTHENTICATE) },
  [ErrorCode.AUTH_MALFORMED]: { status: 400, headers: NO_HEADERS },
  [ErrorCode.AUTH_AMBIGUOUS]: { status: 400, headers: NO_HEADERS },
  [ErrorCode.AUTH_INVALID_KEY]: { status: 401, headers: challenge(WWW_AUTHENTICATE_INVALID) },
  [ErrorCode.AUTH_LOCKED_OUT]: { status: 429, headers: NO_HEADERS },
  [ErrorCode.FORBIDDEN_SCOPE]: { status: 403, headers: NO_HEADERS },
  [ErrorCode.FORBIDDEN_MODEL]: { status: 403, headers: NO_HEADERS },
  [ErrorCode.FORBIDDEN_POLICY]: { status: 403, headers: NO_HEADERS },
  [ErrorCode.RATE_LIMITED]: { status: 429, headers: NO_HEADERS },
  [ErrorCode.ROUTE_NOT_FOUND]: { status: 404, headers: NO_HEADERS },
  [ErrorCode.BAD_REQUEST]: { status: 400, headers: NO_HEADERS },
  [ErrorCode.UNSUPPORTED_MEDIA_TYPE]: { status: 415, headers: NO_HEADERS },
  [ErrorCode.REQUEST_TIMEOUT]: { status: 408, headers: NO_HEADERS },
  [ErrorCode.BODY_TOO_LARGE]: { status: 413, headers: NO_HEADERS },
  [ErrorCode.HEADERS_TOO_LARGE]: { status: 431, headers: NO_HEADERS },
  [ErrorCode.UPSTREAM_UNREACHABLE]: { status: 502, headers: NO_HEADERS },
  [ErrorCode.UPSTREAM_TIMEOUT]: { status: 504, headers: NO_HEADERS },
  [ErrorCode.UPSTREAM_UNAVAILABLE]: { status: 503, headers: NO_HEADERS },
  [ErrorCode.UPSTREAM_REFUSED_ANSWER]: { status: 502, headers: NO_HEADERS },
  [ErrorCode.SHUTTING_DOWN]: { status: 503, headers: NO_HEADERS },
  [ErrorCode.OVERLOADED]: { status: 503, headers: NO_HEADERS },
  [ErrorCode.INTERNAL]: { status: 500, headers: NO_HEADERS },
};

/** The HTTP status an error with this code answers. */
export function statusOf(code: ErrorCodeValue): number {
  return STATUS[code].status;
}

export interface WardenErrorOptions {
  cause?: unknown;
  /** Response headers besides the code's own (Retry-After). */
  headers?: Record<string, string>;
  /** Machine-readable detail for the audit log (never shown to clients). */
  reason?: string;
  /** The config key or form field the error is about ("rpm", "tls.minVersion"): the admin API
   *  sends it beside the message so the UI can show it next to that field. */
  field?: string;
}

export class WardenError extends Error {
  readonly code: ErrorCodeValue;
  /** From the code (STATUS): there is no way to choose another. */
  readonly status: number;
  /** The code's own headers (a 401's WWW-Authenticate) and the options' (Retry-After). */
  readonly headers: Readonly<Record<string, string>>;
  readonly reason: string;
  readonly field: string | undefined;

  constructor(code: ErrorCodeValue, message: string, options: WardenErrorOptions = {}) {
    // No stack trace: these are expected outcomes (a refused request, a bad config value), built
    // by the thousand under a flood of bad keys, and capturing a stack was 11 % of Warden's CPU
    // per refusal. The code says where it came from; a `cause` keeps its own stack.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Error.stackTraceLimit = limit;
    this.name = 'WardenError';
    this.code = code;
    const entry = STATUS[code];
    this.status = entry.status;
    this.headers = options.headers ? { ...entry.headers, ...options.headers } : entry.headers;
    this.reason = options.reason ?? message;
    this.field = options.field;
  }
}

export function isWardenError(err: unknown): err is WardenError {
  return err instanceof WardenError;
}

/** Bad configuration value: names the field, the value and what is allowed. Exit code 2. */
export function configError(field: string, message: string, cause?: unknown): WardenError {
  return new WardenError(ErrorCode.CONFIG_INVALID, `config: ${field}: ${message}`, { cause, field });
}

/** Bad input in one field (a flag, a form or JSON field): 400, the message starts with the field. */
export function fieldError(field: string, message: string): WardenError {
  return new WardenError(ErrorCode.USAGE, `${field}: ${message}`, { field });
}

export function usageError(message: string): WardenError {
  return new WardenError(ErrorCode.USAGE, message);
}

export function notFound(what: string): WardenError {
  return new WardenError(ErrorCode.NOT_FOUND, `${what} not found`);
}

/** The exit code the CLI uses for an error: 2 for bad usage or config, 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  if (isWardenError(err) && (err.code === ErrorCode.CONFIG_INVALID || err.code === ErrorCode.USAGE)) return 2;
  return 1;
}
