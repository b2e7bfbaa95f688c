// Key management: the one place that creates, rotates, revokes, edits and deletes API keys.
// The CLI and the admin API both call it, so validation and the audit trail are identical.
// A secret exists in memory only for the return value of create/rotate; only its hash is stored.
import { SCOPES, DEFAULT_SCOPES, type KeyPatch, type KeyRecord, type Scope, type Store } from '../store/types.ts';
import { ErrorCode, WardenError, fieldError, isWardenError, notFound } from '../errors.ts';
import { generateKey, hashKey, keyForId } from './key-format.ts';
import { compileModelPatterns } from '../policy/models.ts';
import { parseOllamaPubkey } from './ollama-signature.ts';
import { PUBKEY_EXPECTED, limitProblem, modelProblem, nameProblem } from './key-rules.ts';
import type { AuditInput } from '../audit/writer.ts';

export interface KeyInput {
  name: string;
  scopes?: readonly string[];
  models?: readonly string[];
  expiresAt?: Date | null;
  rpm?: number | null;
  tpm?: number | null;
  concurrency?: number | null;
  certFingerprint?: string | null;
  ollamaPubkeys?: readonly string[];
  /** Caps on expensive requests (largest num_ctx, num_predict, keep_alive in seconds); null = none. */
  capNumCtx?: number | null;
  capNumPredict?: number | null;
  capKeepAlive?: number | null;
}

export interface IssuedKey {
  record: KeyRecord;
  /** The secret. Shown once; never stored, logged or audited. */
  key: string;
}

function invalid(field: string, message: string): WardenError {
  return fieldError(field, message);
}

export function validateName(name: string): string {
  const problem = nameProblem(name);
  if (problem) throw invalid('name', problem);
  return name.trim();
}

export function validateScopes(scopes: readonly string[] | undefined): Scope[] {
  if (scopes === undefined || scopes.length === 0) return [...DEFAULT_SCOPES];
  const out = new Set<Scope>();
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) throw invalid('scope', `got ${JSON.stringify(s)}; allowed: ${SCOPES.join(' | ')}`);
    out.add(s as Scope);
  }
  return [...out];
}

export function validateModels(models: readonly string[] | undefined): string[] {
  const list = (models ?? []).map((m) => m.trim()).filter(Boolean);
  for (const m of list) {
    const problem = modelProblem(m);
    if (problem) throw invalid('model', problem);
  }
  compileModelPatterns(list);
  return list;
}

/** rpm, tpm, concurrency and the caps (named by their CLI flags: max-ctx, max-predict,
 *  max-keep-alive, as the UI shows them); null = none. */
function validateLimit(field: string, v: number | null | undefined, unit = ''): number | null {
  if (v === undefined || v === null) return null;
  const problem = limitProblem(v, unit);
  if (problem) throw invalid(field, problem);
  return v;
}

function validateFingerprint(fp: string | null | undefined): string | null {
  if (!fp) return null;
  const hex = fp.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw invalid('bind-cert', 'expected a SHA-256 certificate fingerprint');
  return hex;
}

function validatePubkeys(keys: readonly string[] | undefined): string[] {
  return (keys ?? []).map((k) => {
    try {
      const { blob } = parseOllamaPubkey(k);
      return `ssh-ed25519 ${blob}`;
    } catch (err) {
      throw invalid('ollama-pubkey', `${err instanceof Error ? err.message : String(err)}; ${PUBKEY_EXPECTED}`);
    }
  });
}

export class KeyService {
  private readonly store: Store;
  private readonly audit: (e: AuditInput) => void;

  constructor(store: Store, audit: (e: AuditInput) => void) {
    this.store = store;
    this.audit = audit;
  }

  /** Finds a key by id or by unique name. */
  async resolve(idOrName: string): Promise<KeyRecord> {
    const byId = await this.store.keys.get(idOrName);
    if (byId) return byId;
    const all = await this.store.keys.list();
    const byName = all.find((k) => k.name === idOrName);
    if (!byName) throw notFound(`key ${JSON.stringify(idOrName)}`);
    return byName;
  }

  async create(input: KeyInput, actor: string): Promise<IssuedKey> {
    const name = validateName(input.name);
    const scopes = validateScopes(input.scopes);
    const models = validateModels(input.models);
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw invalid('expires', 'must be in the future');
    const { id, key } = generateKey();
    const record = await this.store.keys.create({
      id,
      name,
      scopes,
      models,
      secretHash: hashKey(key),
      createdAt: new Date(),
      expiresAt: input.expiresAt ?? null,
      rpm: validateLimit('rpm', input.rpm),
      tpm: validateLimit('tpm', input.tpm),
      concurrency: validateLimit('concurrency', input.concurrency),
      certFingerprint: validateFingerprint(input.certFingerprint),
      ollamaPubkeys: validatePubkeys(input.ollamaPubkeys),
      capNumCtx: validateLimit('max-ctx', input.capNumCtx),
      capNumPredict: validateLimit('max-predict', input.capNumPredict),
      capKeepAlive: validateLimit('max-keep-alive', input.capKeepAlive, ' of seconds'),
    });
    this.audit({ kind: 'key.create', keyId: id, keyName: name, actor, reason: `scopes=${scopes.join(',')} models=${models.join(',') || '*'}` });
    return { record, key };
  }

  /** A new secret for the same key id; the old one keeps working for graceSeconds (0: at once). */
  async rotate(idOrName: string, graceSeconds: number, actor: string): Promise<IssuedKey> {
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw invalid('grace', 'must be a duration of 0 or more');
    const current = await this.resolve(idOrName);
    if (current.revokedAt) throw new WardenError(ErrorCode.CONFLICT, `key ${current.id} is revoked and cannot be rotated`);
    const key = keyForId(current.id);
    const patch: KeyPatch = {
      secretHash: hashKey(key),
      // The old hash is kept past its grace (every check compares previousExpiresAt with now), so
      // a client still sending it is recognised as a stale secret of this key (auth/stale-secret.ts)
      // rather than counted as a guess against its address.
      previousSecretHash: current.secretHash,
      previousExpiresAt: new Date(Date.now() + graceSeconds * 1000),
    };
    const record = await this.store.keys.update(current.id, patch);
    this.audit({ kind: 'key.rotate', keyId: record.id, keyName: record.name, actor, reason: `grace=${graceSeconds}s` });
    return { record, key };
  }

  async update(idOrName: string, input: Partial<KeyInput>, actor: string): Promise<KeyRecord> {
    const current = await this.resolve(idOrName);
    const patch: KeyPatch = {};
    if (input.name !== undefined) patch.name = validateName(input.name);
    if (input.scopes !== undefined) patch.scopes = validateScopes(input.scopes);
    if (input.models !== undefined) patch.models = validateModels(input.models);
    if (input.expiresAt !== undefined) patch.expiresAt = input.expiresAt;
    if (input.rpm !== undefined) patch.rpm = validateLimit('rpm', input.rpm);
    if (input.tpm !== undefined) patch.tpm = validateLimit('tpm', input.tpm);
    if (input.concurrency !== undefined) patch.concurrency = validateLimit('concurrency', input.concurrency);
    if (input.certFingerprint !== undefined) patch.certFingerprint = validateFingerprint(input.certFingerprint);
    if (input.ollamaPubkeys !== undefined) patch.ollamaPubkeys = validatePubkeys(input.ollamaPubkeys);
    if (input.capNumCtx !== undefined) patch.capNumCtx = validateLimit('max-ctx', input.capNumCtx);
    if (input.capNumPredict !== undefined) patch.capNumPredict = validateLimit('max-predict', input.capNumPredict);
    if (input.capKeepAlive !== undefined) patch.capKeepAlive = validateLimit('max-keep-alive', input.capKeepAlive, ' of seconds');
    const record = await this.store.keys.update(current.id, patch);
    this.audit({ kind: 'key.update', keyId: record.id, keyName: record.name, actor, reason: `fields=${Object.keys(patch).join(',')}` });
    return record;
  }

  async revoke(idOrName: string, actor: string): Promise<KeyRecord> {
    const current = await this.resolve(idOrName);
    if (current.revokedAt) return current;
    const patch = { revokedAt: new Date(), previousSecretHash: null, previousExpiresAt: null };
    let record: KeyRecord;
    try {
      record = await this.store.keys.update(current.id, patch);
    } catch (err) {
      // A full disk never blocks a revocation: the store's reserve is given up for it.
      if (!(isWardenError(err) && err.code === ErrorCode.DISK_FULL && this.store.diskReserve?.free())) throw err;
      record = await this.store.keys.update(current.id, patch);
    }
    this.audit({ kind: 'key.revoke', keyId: record.id, keyName: record.name, actor });
    return record;
  }

  async delete(idOrName: string, actor: string): Promise<void> {
    const current = await this.resolve(idOrName);
    await this.store.keys.delete(current.id);
    this.audit({ kind: 'key.delete', keyId: current.id, keyName: current.name, actor });
  }
}
