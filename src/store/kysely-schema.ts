// Table typings for Kysely. Both dialects store the same shapes:
// - times are epoch milliseconds in a BIGINT column (PostgreSQL's driver hands BIGINT back as a
//   string, SQLite as a number, so reads are typed `number | string` and go through
//   row-mapping.ts);
// - lists (scopes, model patterns, ollama public keys) are JSON text.
import type { ColumnType } from 'kysely';

/** Epoch ms or another 64-bit integer: written as a number, read as number or string. */
export type Int8 = ColumnType<number | string, number, number>;
export type NullableInt8 = ColumnType<number | string | null, number | null, number | null>;

export interface MetaTable {
  key: string;
  value: string;
}

/** One row (id = 1): the change generation other instances poll. */
export interface GenerationTable {
  id: number;
  value: Int8;
}

export interface KeysTable {
  id: string;
  name: string;
  scopes: string;
  models: string;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_expires_at: NullableInt8;
  created_at: Int8;
  last_used_at: NullableInt8;
  expires_at: NullableInt8;
  revoked_at: NullableInt8;
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  cert_fingerprint: string | null;
  ollama_pubkeys: string;
  cap_num_ctx: number | null;
  cap_num_predict: number | null;
  /** seconds */
  cap_keep_alive: number | null;
  /** the generation that last changed this row (not last-used stamps) */
  changed_gen: ColumnType<number | string, number | undefined, number>;
}

/** One row per deleted key, so incremental cache reloads learn of deletions. */
export interface KeyDeletionsTable {
  id: string;
  gen: Int8;
}

/** Which key owns an ollama CLI public key (base64 ssh-wire blob): at most one. */
export interface OllamaPubkeysTable {
  blob: string;
  key_id: string;
}

/** Accepted CLI signatures, until their timestamp leaves the skew window. */
export interface UsedSignaturesTable {
  id: string;
  /** epoch seconds of the first acceptance */
  first_seen: Int8;
  /** epoch seconds after which the signature's timestamp is refused anyway */
  expires_at: Int8;
}

export interface ClientCertsTable {
  serial: string;
  name: string;
  fingerprint: string;
  subject: string;
  not_before: Int8;
  not_after: Int8;
  created_at: Int8;
  revoked_at: NullableInt8;
  revocation_reason: string | null;
}

export interface AuditTable {
  time: Int8;
  id: string;
  kind: string;
  key_id: string | null;
  key_name: string | null;
  auth_method: string | null;
  client_address: string | null;
  tls_version: string | null;
  client_cert_subject: string | null;
  method: string | null;
  path: string | null;
  model: string | null;
  status: number | null;
  duration_ms: number | null;
  bytes_in: NullableInt8;
  bytes_out: NullableInt8;
  prompt_tokens: number | null;
  eval_tokens: number | null;
  reason: string | null;
  actor: string | null;
}

export interface Database {
  warden_meta: MetaTable;
  warden_generation: GenerationTable;
  warden_keys: KeysTable;
  warden_client_certs: ClientCertsTable;
  warden_audit: AuditTable;
  warden_key_deletions: KeyDeletionsTable;
  warden_ollama_pubkeys: OllamaPubkeysTable;
  warden_used_signatures: UsedSignaturesTable;
}

export const TABLES = {
  meta: 'warden_meta',
  generation: 'warden_generation',
  keys: 'warden_keys',
  clientCerts: 'warden_client_certs',
  audit: 'warden_audit',
  keyDeletions: 'warden_key_deletions',
  ollamaPubkeys: 'warden_ollama_pubkeys',
  usedSignatures: 'warden_used_signatures',
} as const;
