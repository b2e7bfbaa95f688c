// The JSON shapes of keys, client certificates, audit events and connections. The CLI (`--json`)
// and the admin API both use these functions, so a script sees the same object whichever it asks
// (docs/design.md §7), and the web UI (web/src/api.ts) imports these types rather than writing
// them again. None of them can emit a secret: a key's secret and hashes are not read here at all;
// an issued certificate's key and bundle only in the one answer that issues it.
import { keyState, type AuditEvent, type ClientCertRecord, type KeyRecord, type KeyState, type Scope } from '../store/types.ts';
import type { ConnectionInfo, IssuedClientCert } from './deps.ts';

export interface KeyJson {
  id: string;
  name: string;
  scopes: Scope[];
  models: string[];
  expiresAt: string | null;
  state: KeyState;
  createdAt: string;
  lastUsedAt: string | null;
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  certFingerprint: string | null;
  ollamaPubkeys: string[];
  /** While a rotation's grace period runs: when the previous secret stops working. */
  graceUntil: string | null;
  /** The key's own caps on expensive requests (keepAlive in seconds); null = no cap from the key.
   *  The server's caps (config `caps`) apply as well: the lower one is in force. */
  caps: { numCtx: number | null; numPredict: number | null; keepAlive: number | null };
}

/** A key issued by create or rotate: the only shape that carries `key`. */
export interface IssuedKeyJson extends KeyJson {
  key: string;
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function keyToJson(record: KeyRecord, now: Date = new Date()): KeyJson {
  const graceOpen = record.previousSecretHash !== null && record.previousExpiresAt !== null && record.previousExpiresAt.getTime() > now.getTime();
  return {
    id: record.id,
    name: record.name,
    scopes: [...record.scopes],
    models: [...record.models],
    expiresAt: iso(record.expiresAt),
    state: keyState(record, now),
    createdAt: record.createdAt.toISOString(),
    lastUsedAt: iso(record.lastUsedAt),
    rpm: record.rpm,
    tpm: record.tpm,
    concurrency: record.concurrency,
    certFingerprint: record.certFingerprint,
    ollamaPubkeys: [...record.ollamaPubkeys],
    graceUntil: graceOpen ? iso(record.previousExpiresAt) : null,
    caps: { numCtx: record.capNumCtx, numPredict: record.capNumPredict, keepAlive: record.capKeepAlive },
  };
}

export function issuedKeyToJson(issued: { record: KeyRecord; key: string }, now: Date = new Date()): IssuedKeyJson {
  return { ...keyToJson(issued.record, now), key: issued.key };
}

export interface ClientCertJson {
  serial: string;
  name: string;
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  createdAt: string;
  state: 'active' | 'revoked' | 'expired';
  revokedAt: string | null;
  revocationReason: string | null;
}

/** The answer that issues a client certificate: the only one that carries its key and bundle. */
export interface IssuedClientCertJson {
  certificate: ClientCertJson;
  password: string;
  /** PKCS#12, base64. */
  bundle: string;
  certPem: string;
  keyPem: string;
}

export function issuedClientCertToJson(issued: IssuedClientCert): IssuedClientCertJson {
  return {
    certificate: clientCertToJson(issued.record),
    password: issued.password,
    bundle: issued.bundle.toString('base64'),
    certPem: issued.certPem,
    keyPem: issued.keyPem,
  };
}

/** The local CA as clients must trust it (the public certificate only). */
export interface CaJson {
  pem: string;
  fingerprint256: string;
  subject: string;
  notAfter: string;
}

export function clientCertToJson(c: ClientCertRecord, now: Date = new Date()): ClientCertJson {
  const state = c.revokedAt ? 'revoked' : c.notAfter.getTime() <= now.getTime() ? 'expired' : 'active';
  return {
    serial: c.serial,
    name: c.name,
    fingerprint: c.fingerprint,
    subject: c.subject,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    createdAt: c.createdAt.toISOString(),
    state,
    revokedAt: iso(c.revokedAt),
    revocationReason: c.revocationReason,
  };
}

export type AuditEventJson = Omit<AuditEvent, 'time'> & { time: string };

export function auditEventToJson(e: AuditEvent): AuditEventJson {
  return { ...e, time: e.time.toISOString() };
}

export type ConnectionJson = Omit<ConnectionInfo, 'since'> & { since: string };

export function connectionToJson(c: ConnectionInfo): ConnectionJson {
  return { ...c, since: c.since.toISOString() };
}
