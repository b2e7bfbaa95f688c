// One error type for the whole program. Every error Warden raises on purpose has a stable
// code (for scripts, logs and tests) and, where it ends an HTTP request, the status to answer.
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

export interface WardenErrorOptions {
  cause?: unknown;
  /** HTTP status when this error ends a request. */
  status?: number;
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  headers?: Record<string, string>;
  /** Machine-readable detail for the audit log (never shown to clients). */
  reason?: string;
  /** The config key or form field the error is about ("rpm", "tls.minVersion"): the admin API
   *  sends it beside the message so the UI can show it next to that field. */
  field?: string;
}

export class WardenError extends Error {
  readonly code: ErrorCodeValue;
  readonly status: number;
  readonly headers: Record<string, string>;
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
    this.status = options.status ?? 500;
    this.headers = options.headers ?? {};
    this.reason = options.reason ?? message;
    this.field = options.field;
  }
}

export function isWardenError(err: unknown): err is WardenError {
  return err instanceof WardenError;
}

/** Bad configuration value: names the field, the value and what is allowed. Exit code 2. */
export function configError(field: string, message: string, cause?: unknown): WardenError {
  return new WardenError(ErrorCode.CONFIG_INVALID, `config: ${field}: ${message}`, { cause, status: 500, field });
}

/** Bad input in one field (a flag, a form or JSON field): 400, the message starts with the field. */
export function fieldError(field: string, message: string): WardenError {
  return new WardenError(ErrorCode.USAGE, `${field}: ${message}`, { status: 400, field });
}

export function usageError(message: string): WardenError {
  return new WardenError(ErrorCode.USAGE, message);
}

export function notFound(what: string): WardenError {
  return new WardenError(ErrorCode.NOT_FOUND, `${what} not found`, { status: 404 });
}

/** The exit code the CLI uses for an error: 2 for bad usage or config, 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  if (isWardenError(err) && (err.code === ErrorCode.CONFIG_INVALID || err.code === ErrorCode.USAGE)) return 2;
  return 1;
}
