// Between the store's records (camelCase, Dates, arrays) and its rows (snake_case, epoch ms,
// JSON text). Both dialects share this, so a field round-trips the same way on each.
import type { Insertable, Selectable, Updateable } from 'kysely';
import { ErrorCode, WardenError } from '../errors.ts';
import type { AuditTable, ClientCertsTable, KeysTable } from './kysely-schema.ts';
import type { AuditEvent, ClientCertRecord, KeyPatch, KeyRecord, NewKey, Scope } from './types.ts';

export function ms(d: Date): number {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new WardenError(ErrorCode.INTERNAL, 'store: refusing to save an invalid Date');
  return t;
}

function msOrNull(d: Date | null | undefined): number | null {
  return d ? ms(d) : null;
}

/** PostgreSQL returns BIGINT as a string, SQLite as a number. */
export function int(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}

function intOrNull(v: number | string | null): number | null {
  return v === null ? null : int(v);
}

function date(v: number | string): Date {
  return new Date(int(v));
}

function dateOrNull(v: number | string | null): Date | null {
  return v === null ? null : date(v);
}

function strings(text: string, column: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new WardenError(ErrorCode.STORE_CORRUPT, `store: column ${column} holds invalid JSON`, { cause });
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new WardenError(ErrorCode.STORE_CORRUPT, `store: column ${column} is not a list of strings`);
  }
  return parsed;
}

export function keyFromRow(r: Selectable<KeysTable>): KeyRecord {
  return {
    id: r.id,
    name: r.name,
    scopes: strings(r.scopes, 'warden_keys.scopes') as Scope[],
    models: strings(r.models, 'warden_keys.models'),
    secretHash: r.secret_hash,
    previousSecretHash: r.previous_secret_hash,
    previousExpiresAt: dateOrNull(r.previous_expires_at),
    createdAt: date(r.created_at),
    lastUsedAt: dateOrNull(r.last_used_at),
    expiresAt: dateOrNull(r.expires_at),
    revokedAt: dateOrNull(r.revoked_at),
    rpm: r.rpm,
    tpm: r.tpm,
    concurrency: r.concurrency,
    certFingerprint: r.cert_fingerprint,
    ollamaPubkeys: strings(r.ollama_pubkeys, 'warden_keys.ollama_pubkeys'),
    capNumCtx: r.cap_num_ctx,
    capNumPredict: r.cap_num_predict,
    capKeepAlive: r.cap_keep_alive,
  };
}

export function newKeyToRow(k: NewKey): Insertable<KeysTable> {
  return {
    id: k.id,
    name: k.name,
    scopes: JSON.stringify(k.scopes),
    models: JSON.stringify(k.models),
    secret_hash: k.secretHash,
    previous_secret_hash: null,
    previous_expires_at: null,
    created_at: ms(k.createdAt),
    last_used_at: null,
    expires_at: msOrNull(k.expiresAt),
    revoked_at: null,
    rpm: k.rpm,
    tpm: k.tpm,
    concurrency: k.concurrency,
    cert_fingerprint: k.certFingerprint,
    ollama_pubkeys: JSON.stringify(k.ollamaPubkeys),
    cap_num_ctx: k.capNumCtx,
    cap_num_predict: k.capNumPredict,
    cap_keep_alive: k.capKeepAlive,
  };
}

/** Only the fields present in the patch (an explicit `null` clears a field). */
export function keyPatchToRow(p: KeyPatch): Updateable<KeysTable> {
  const row: Updateable<KeysTable> = {};
  if (p.name !== undefined) row.name = p.name;
  if (p.scopes !== undefined) row.scopes = JSON.stringify(p.scopes);
  if (p.models !== undefined) row.models = JSON.stringify(p.models);
  if (p.secretHash !== undefined) row.secret_hash = p.secretHash;
  if (p.previousSecretHash !== undefined) row.previous_secret_hash = p.previousSecretHash;
  if (p.previousExpiresAt !== undefined) row.previous_expires_at = msOrNull(p.previousExpiresAt);
  if (p.expiresAt !== undefined) row.expires_at = msOrNull(p.expiresAt);
  if (p.revokedAt !== undefined) row.revoked_at = msOrNull(p.revokedAt);
  if (p.rpm !== undefined) row.rpm = p.rpm;
  if (p.tpm !== undefined) row.tpm = p.tpm;
  if (p.concurrency !== undefined) row.concurrency = p.concurrency;
  if (p.certFingerprint !== undefined) row.cert_fingerprint = p.certFingerprint;
  if (p.ollamaPubkeys !== undefined) row.ollama_pubkeys = JSON.stringify(p.ollamaPubkeys);
  if (p.capNumCtx !== undefined) row.cap_num_ctx = p.capNumCtx;
  if (p.capNumPredict !== undefined) row.cap_num_predict = p.capNumPredict;
  if (p.capKeepAlive !== undefined) row.cap_keep_alive = p.capKeepAlive;
  return row;
}

export function certFromRow(r: Selectable<ClientCertsTable>): ClientCertRecord {
  return {
    serial: r.serial,
    name: r.name,
    fingerprint: r.fingerprint,
    subject: r.subject,
    notBefore: date(r.not_before),
    notAfter: date(r.not_after),
    createdAt: date(r.created_at),
    revokedAt: dateOrNull(r.revoked_at),
    revocationReason: r.revocation_reason,
  };
}

export function certToRow(c: Omit<ClientCertRecord, 'revokedAt' | 'revocationReason'>): Insertable<ClientCertsTable> {
  return {
    serial: c.serial.toLowerCase(),
    name: c.name,
    fingerprint: c.fingerprint.toLowerCase(),
    subject: c.subject,
    not_before: ms(c.notBefore),
    not_after: ms(c.notAfter),
    created_at: ms(c.createdAt),
    revoked_at: null,
    revocation_reason: null,
  };
}

export function auditFromRow(r: Selectable<AuditTable>): AuditEvent {
  return {
    time: date(r.time),
    id: r.id,
    kind: r.kind,
    keyId: r.key_id,
    keyName: r.key_name,
    authMethod: r.auth_method,
    clientAddress: r.client_address,
    tlsVersion: r.tls_version,
    clientCertSubject: r.client_cert_subject,
    method: r.method,
    path: r.path,
    model: r.model,
    status: r.status,
    durationMs: r.duration_ms,
    bytesIn: intOrNull(r.bytes_in),
    bytesOut: intOrNull(r.bytes_out),
    promptTokens: r.prompt_tokens,
    evalTokens: r.eval_tokens,
    reason: r.reason,
    actor: r.actor,
  };
}

export function auditToRow(e: AuditEvent): Insertable<AuditTable> {
  return {
    time: ms(e.time),
    id: e.id,
    kind: e.kind,
    key_id: e.keyId,
    key_name: e.keyName,
    auth_method: e.authMethod,
    client_address: e.clientAddress,
    tls_version: e.tlsVersion,
    client_cert_subject: e.clientCertSubject,
    method: e.method,
    path: e.path,
    model: e.model,
    status: e.status,
    duration_ms: e.durationMs,
    bytes_in: e.bytesIn,
    bytes_out: e.bytesOut,
    prompt_tokens: e.promptTokens,
    eval_tokens: e.evalTokens,
    reason: e.reason,
    actor: e.actor,
  };
}
