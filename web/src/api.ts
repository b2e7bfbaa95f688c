// The UI's only way to talk to Warden. It keeps the CSRF token (never the key), and when a
// session has expired it waits for the user to sign in again and then repeats the request,
// so nothing typed into a form is lost.

import { inertDeep } from '../../src/inert-text.ts';
import type { KeyJson as ListedKeyJson, IssuedKeyJson } from '../../src/admin/serialize.ts';

export interface SessionInfo {
  keyId: string;
  keyName: string;
  csrfToken: string | null;
  expiresAt: string | null;
}

/** An error the server explained: its message is meant for the user. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The form field the message is about ("rpm", "tls.minVersion"), when there is one. */
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let csrfToken: string | null = null;
let authLost: (() => Promise<void>) | null = null;
/** One sign-in dialog for all requests that failed together. */
let reauthing: Promise<void> | null = null;

/** The app registers how to get a new session (shows the sign-in dialog). */
export function onAuthLost(handler: () => Promise<void>): void {
  authLost = handler;
}

export function setSession(s: SessionInfo | null): void {
  csrfToken = s?.csrfToken ?? null;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  try {
    return await fetch(`/_warden/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Cannot reach Warden. Check that it is running and try again.');
  }
}

async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page or similar: never show it raw.
    throw new ApiError(res.status, 'BAD_RESPONSE', `Unexpected answer from the server (HTTP ${res.status}).`);
  }
  // Model names, paths, reasons and versions come from clients and upstreams: every string is
  // shown with its control, line-separator and bidi characters as visible escapes (LF kept:
  // the server's multi-line validation messages read as they do in the terminal).
  data = inertDeep(data, true);
  if (!res.ok) {
    const e = (data ?? {}) as { error?: string; code?: string; field?: string };
    throw new ApiError(res.status, e.code ?? 'HTTP_' + res.status, e.error ?? `Request failed (HTTP ${res.status}).`, e.field);
  }
  return data as T;
}

/** One API call. A 401 on an existing session shows the sign-in dialog and retries once. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res = await send(method, path, body);
  if (res.status === 401 && authLost) {
    await res.body?.cancel();
    reauthing ??= authLost().finally(() => {
      reauthing = null;
    });
    await reauthing;
    res = await send(method, path, body);
  }
  return parse<T>(res);
}

export async function getSession(): Promise<SessionInfo | null> {
  const res = await send('GET', '/session');
  if (res.status === 401) return null;
  const s = await parse<SessionInfo>(res);
  setSession(s);
  return s;
}

export async function signIn(key: string): Promise<SessionInfo> {
  const s = await parse<SessionInfo>(await send('POST', '/session', { key }));
  setSession(s);
  return s;
}

export async function signOut(): Promise<void> {
  await parse<void>(await send('DELETE', '/session'));
  setSession(null);
}

// ---- shapes of the API's answers (docs/admin-api.md) ----

// Keys, certificates, audit events and connections are the server's own types
// (src/admin/serialize.ts), imported as types only: no server code reaches the bundle.
export type { AuditEventJson, CaJson, ClientCertJson, ConnectionJson, IssuedClientCertJson } from '../../src/admin/serialize.ts';

/** A key as listed, or as create and rotate answer it: with its secret, once. */
export type KeyJson = ListedKeyJson & Partial<Pick<IssuedKeyJson, 'key'>>;

export interface SettingsJson {
  listen: string;
  upstream: string;
  tls: { mode: string; minVersion: string; cert: string | null; key: string | null; clientAuth: string; clientCA: string | null; hostnames: string[] };
  audit: { enabled: boolean };
}
