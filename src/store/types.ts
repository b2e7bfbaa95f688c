// The store's contract. Callers (auth, admin, CLI, audit) only see these types; the SQLite and
// PostgreSQL implementations both pass one contract test suite (test/store/contract.ts).
import type { StoreHealth } from './health.ts';
import type { DiskReserve } from './disk-reserve.ts';

export const SCOPES = ['inference', 'models:read', 'models:manage', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];
export const DEFAULT_SCOPES: readonly Scope[] = ['inference', 'models:read'];

export type KeyState = 'active' | 'revoked' | 'expired';

export interface KeyRecord {
  /** Public id, `key_` + base62; shown in lists and logs. */
  id: string;
  name: string;
  scopes: Scope[];
  /** Model patterns (`llama3.*`, `qwen2.5:*`); empty = every model. */
  models: string[];
  /** hex SHA-256 of the full key string. */
  secretHash: string;
  /** During a rotation grace period: the old secret's hash and when it stops working. */
  previousSecretHash: string | null;
  previousExpiresAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** Requests per minute, tokens per minute, concurrent requests; null = unlimited. */
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  /** SHA-256 fingerprint (hex, lower case, no colons) of the client certificate this key is bound to. */
  certFingerprint: string | null;
  /** Registered `ssh-ed25519 AAAA…` public keys of the stock ollama CLI (comment stripped). */
  ollamaPubkeys: string[];
  /** This key's caps on expensive requests (src/policy/caps.ts): largest num_ctx, num_predict /
   *  max_tokens, and keep_alive in seconds; null = no cap from the key. */
  capNumCtx: number | null;
  capNumPredict: number | null;
  capKeepAlive: number | null;
}

export type NewKey = Omit<KeyRecord, 'lastUsedAt' | 'revokedAt' | 'previousSecretHash' | 'previousExpiresAt'>;

export type KeyPatch = Partial<
  Pick<
    KeyRecord,
    | 'name'
    | 'scopes'
    | 'models'
    | 'secretHash'
    | 'previousSecretHash'
    | 'previousExpiresAt'
    | 'expiresAt'
    | 'revokedAt'
    | 'rpm'
    | 'tpm'
    | 'concurrency'
    | 'certFingerprint'
    | 'ollamaPubkeys'
    | 'capNumCtx'
    | 'capNumPredict'
    | 'capKeepAlive'
  >
>;

export function keyState(k: KeyRecord, now: Date = new Date()): KeyState {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && k.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** One audit event: a proxied/refused request or a management action. Never a secret, prompt or answer. */
export interface AuditEvent {
  time: Date;
  /** request id, or a generated id for management actions */
  id: string;
  /** 'request' for traffic; 'key.create', 'key.rotate', 'key.revoke', 'key.delete', 'key.update',
   *  'cert.issue', 'cert.revoke', 'config.change', 'tls.client_cert_refused' … */
  kind: string;
  keyId: string | null;
  keyName: string | null;
  /** bearer | x-api-key | basic | ollama-signature | client-cert | session | none */
  authMethod: string | null;
  clientAddress: string | null;
  tlsVersion: string | null;
  clientCertSubject: string | null;
  method: string | null;
  path: string | null;
  model: string | null;
  status: number | null;
  durationMs: number | null;
  bytesIn: number | null;
  bytesOut: number | null;
  promptTokens: number | null;
  evalTokens: number | null;
  /** why a request was refused, or what a management action did */
  reason: string | null;
  /** who did a management action: 'cli', 'key_…' (admin API) */
  actor: string | null;
}

export interface AuditQuery {
  keyId?: string;
  /** 2 → 2xx, 4 → 4xx … */
  statusClass?: number;
  pathPrefix?: string;
  kind?: string;
  since?: Date;
  until?: Date;
  limit?: number;
  /** return events older than this (exclusive) for paging, newest first */
  before?: Date;
}

export interface ClientCertRecord {
  /** hex serial number, lower case */
  serial: string;
  name: string;
  /** SHA-256 fingerprint, hex lower case without colons */
  fingerprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  createdAt: Date;
  revokedAt: Date | null;
  revocationReason: string | null;
}

export interface KeyRepo {
  /** Throws CONFLICT (409) when the name or id is taken: key names are unique. */
  create(k: NewKey): Promise<KeyRecord>;
  get(id: string): Promise<KeyRecord | null>;
  list(): Promise<KeyRecord[]>;
  /** Only the fields present change (`null` clears). NOT_FOUND (404) for a missing id,
   *  CONFLICT (409) when renaming onto another key's name. */
  update(id: string, patch: KeyPatch): Promise<KeyRecord>;
  /** false when there was no such key. */
  delete(id: string): Promise<boolean>;
  /** What changed after generation `since` (every key when `since` < 0, with `full: true`):
   *  the changed or created keys and the ids of deleted ones, and the generation they bring the
   *  caller to. Lets a cache reload in proportion to what changed. */
  changesSince(since: number): Promise<KeyChanges>;
  /** Batched last-used stamps; only ever moves lastUsedAt forward; never bumps the change
   *  generation (it is not a policy change). Unknown ids are ignored. */
  touch(stamps: ReadonlyMap<string, Date>): Promise<void>;
}

export interface KeyChanges {
  generation: number;
  full: boolean;
  changed: KeyRecord[];
  deleted: string[];
}

export interface AuditRepo {
  insert(events: readonly AuditEvent[]): Promise<void>;
  /** Newest first; `limit` defaults to 100 and is capped at 1000. */
  query(q: AuditQuery): Promise<AuditEvent[]>;
  /** Delete events older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

export interface ClientCertRepo {
  /** CONFLICT (409) for a serial or fingerprint already present. */
  add(c: Omit<ClientCertRecord, 'revokedAt' | 'revocationReason'>): Promise<ClientCertRecord>;
  list(): Promise<ClientCertRecord[]>;
  /** By serial (any case, colons allowed) or by name; for a name issued more than once, the
   *  unrevoked certificate wins, then the newest. */
  find(nameOrSerial: string): Promise<ClientCertRecord | null>;
  /** NOT_FOUND (404) for an unknown serial; revoking twice keeps the first time and reason. */
  revoke(serial: string, reason: string, at?: Date): Promise<ClientCertRecord>;
}

export interface UsedSignatureRepo {
  /** Records a CLI signature (by id) as used, unless it already is: one atomic insert-if-absent.
   *  `fresh` says whether this call recorded it; `firstSeen` is when it was first used (epoch
   *  seconds). `expiresAtSeconds`: when its timestamp leaves the skew window. */
  claim(id: string, nowSeconds: number, expiresAtSeconds: number): Promise<{ fresh: boolean; firstSeen: number }>;
  /** Deletes the signatures that expired before `nowSeconds`; returns how many. */
  prune(nowSeconds: number): Promise<number>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Whether the store answers (PostgreSQL: fed by every query; SQLite: a local file, always). */
  readonly health: StoreHealth;
  /** SQLite: space kept free for revocations on a full disk (store/disk-reserve.ts). */
  readonly diskReserve?: DiskReserve;
  keys: KeyRepo;
  usedSignatures: UsedSignatureRepo;
  audit: AuditRepo;
  clientCerts: ClientCertRepo;
  /** A counter bumped (in the same transaction) by every change to keys or client certs.
   *  Instances poll it (cheap: one indexed row) to refresh their caches within 1 s. */
  generation(): Promise<number>;
  /** Free-form settings shared by instances (e.g. CRL number). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
