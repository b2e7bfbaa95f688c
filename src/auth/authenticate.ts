// Who is calling? Checks in a fixed order, cheapest first (LiteLLM's order, without its size):
// credential shape → checksum (no lookup for a mistyped or random key) → in-memory key cache →
// constant-time hash comparison → state (revoked/expired) → client-certificate binding.
// Every failure gives the same answer, so a caller cannot learn whether a key id exists.
import { hash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, WardenError } from '../errors.ts';
import type { Credential } from './credentials.ts';
import { parseKey } from './key-format.ts';
import type { CachedKey, KeyCache } from './key-cache.ts';
import { verifyOllamaSignature } from './ollama-signature.ts';
import type { ReplayCache } from './replay-cache.ts';

export interface Authenticated {
  key: CachedKey;
  method: string;
  /** What proved the caller, so `recheck` can ask again later whether it still does. */
  proof: Proof;
}

type Proof =
  | { kind: 'secret'; digest: Buffer }
  | { kind: 'ollama'; blob: string; signature: Buffer; ts: number }
  | { kind: 'cert'; fingerprint: string };

export interface ConnectionIdentity {
  /** SHA-256 of the verified client certificate (hex, lower case), or null. */
  certFingerprint: string | null;
}

/** 401 for a credential that was sent but is not valid; its code brings RFC 6750's
 *  `error="invalid_token"` challenge (errors.ts). */
export function unauthorized(reason: string, message = 'invalid API key'): WardenError {
  return new WardenError(ErrorCode.AUTH_INVALID_KEY, message, { reason });
}

// The refusals a flood of made-up keys produces, built once: WardenError is immutable, and
// allocating an Error per bad key was measurable under a flood.
const shared = (err: WardenError): WardenError => Object.freeze(err);
const NOT_A_KEY = shared(unauthorized('not a Warden key'));
const BAD_CHECKSUM = shared(unauthorized('key checksum mismatch'));
const UNKNOWN_ID = shared(unauthorized('unknown key id'));
const WRONG_SECRET = shared(unauthorized('wrong secret'));
const UNKNOWN_OLLAMA_KEY = shared(unauthorized('unknown ollama public key'));
const REPLAYED = shared(unauthorized('ollama signature: replayed'));
// 401 with the bare challenge (RFC 6750 §3: no error attribute when nothing was sent)
const MISSING = shared(new WardenError(ErrorCode.AUTH_MISSING, 'missing API key', { reason: 'no credentials' }));

/** Refusals a key view that has not yet seen a new key, secret or ollama public key would give:
 *  worth one refresh of the cache before answering. Decided by identity, not by reason text. */
const MAY_BE_NEW = new Set<WardenError>([UNKNOWN_ID, WRONG_SECRET, UNKNOWN_OLLAMA_KEY]);
export function mayBeNewCredential(err: WardenError): boolean {
  return MAY_BE_NEW.has(err);
}

/** Refusals given only after the secret or signature was verified (revoked, expired, wrong
 *  binding): the credential is genuinely a key's (stale-secret.ts). */
const AFTER_PROOF = new WeakSet<WardenError>();
function refusedAfterProof(reason: string): WardenError {
  const err = unauthorized(reason);
  AFTER_PROOF.add(err);
  return err;
}
export function wasRefusedAfterProof(err: WardenError): boolean {
  return AFTER_PROOF.has(err);
}

/** Whether a refused credential may be a key's own earlier secret (stale-secret.ts): only when
 *  its key exists and the secret did not match, or after the proof. Junk and unknown ids — what
 *  a flood is made of — are not looked at again. */
export function mayBeStaleSecret(err: WardenError): boolean {
  return err === WRONG_SECRET || AFTER_PROOF.has(err);
}

function usable(k: CachedKey, now: number): string | null {
  if (k.record.revokedAt) return 'key revoked';
  if (k.record.expiresAt && k.record.expiresAt.getTime() <= now) return 'key expired';
  return null;
}

function checkBinding(k: CachedKey, conn: ConnectionIdentity): string | null {
  if (k.record.certFingerprint && k.record.certFingerprint !== conn.certFingerprint) return 'key is bound to a client certificate that this connection did not present';
  return null;
}

export interface AuthenticateDeps {
  keys: KeyCache;
}

export function authenticate(cred: Credential, conn: ConnectionIdentity, deps: AuthenticateDeps, now = Date.now()): Authenticated | WardenError {
  switch (cred.kind) {
    case 'error':
      return cred.error;
    case 'none': {
      // A client certificate bound to a key is itself a credential.
      if (conn.certFingerprint) {
        const k = deps.keys.byCertFingerprint(conn.certFingerprint);
        if (k) {
          const bad = usable(k, now);
          if (bad) return unauthorized(bad);
          return { key: k, method: 'client-cert', proof: { kind: 'cert', fingerprint: conn.certFingerprint } };
        }
      }
      return MISSING;
    }
    case 'key': {
      const parsed = parseKey(cred.key);
      if (!parsed) return NOT_A_KEY;
      if (!parsed.checksumOk) return BAD_CHECKSUM;
      const k = deps.keys.get(parsed.id);
      // Hash even when the id is unknown, so timing does not tell the two cases apart.
      const digest = hash('sha256', cred.key, 'buffer');
      if (!k) return UNKNOWN_ID;
      if (!secretMatches(k, digest, now)) return WRONG_SECRET;
      const bad = usable(k, now) ?? checkBinding(k, conn);
      if (bad) return refusedAfterProof(bad);
      return { key: k, method: cred.method, proof: { kind: 'secret', digest } };
    }
    case 'ollama-signature': {
      const k = deps.keys.byOllamaPubkey(cred.publicKey);
      if (!k) return UNKNOWN_OLLAMA_KEY;
      const verdict = verifyOllamaSignature(cred, k.ollamaKeyring, Math.floor(now / 1000));
      if (!verdict.ok) return unauthorized(verdict.reason);
      const bad = usable(k, now) ?? checkBinding(k, conn);
      if (bad) return refusedAfterProof(bad);
      // Not done yet: the caller must still `claimOnce` (the replay check asks the store).
      return { key: k, method: 'ollama-signature', proof: { kind: 'ollama', blob: cred.publicKey, signature: cred.signature, ts: cred.ts } };
    }
  }
}

/**
 * The last step for a CLI signature: it is accepted once (docs/design.md §3). Asynchronous because the
 * used signatures live in the store, shared by every instance; a store that cannot answer makes
 * this reject, and the caller refuses the request. Other credentials pass straight through.
 */
export async function claimOnce(auth: Authenticated, replay: ReplayCache, now = Date.now()): Promise<WardenError | null> {
  const p = auth.proof;
  if (p.kind !== 'ollama') return null;
  return (await replay.claim(p.blob, p.signature, p.ts, Math.floor(now / 1000))) ? REPLAYED : null;
}

function secretMatches(k: CachedKey, digest: Buffer, now: number): boolean {
  let match = timingSafeEqual(digest, k.hashes[0]!);
  if (!match && k.hashes[1] && k.record.previousExpiresAt && k.record.previousExpiresAt.getTime() > now) {
    match = timingSafeEqual(digest, k.hashes[1]);
  }
  return match;
}

/**
 * Asks again, against the key cache as it is now, whether an earlier authentication still holds:
 * the key may have been revoked, deleted, expired, rotated or re-bound since (e.g. while a large
 * body was arriving). Returns the authentication with the key's current record, or the refusal.
 * No replay check: the signature was already accepted once, for this very request.
 */
export function recheck(auth: Authenticated, conn: ConnectionIdentity, keys: KeyCache, now = Date.now()): Authenticated | WardenError {
  const p = auth.proof;
  const k = p.kind === 'ollama' ? keys.byOllamaPubkey(p.blob) : p.kind === 'cert' ? keys.byCertFingerprint(p.fingerprint) : keys.get(auth.key.record.id);
  if (!k || k.record.id !== auth.key.record.id) return unauthorized('key deleted or credential removed since the request began');
  if (p.kind === 'secret' && !secretMatches(k, p.digest, now)) return unauthorized('secret rotated since the request began');
  const bad = usable(k, now) ?? checkBinding(k, conn);
  if (bad) return unauthorized(`${bad} since the request began`);
  return { ...auth, key: k };
}
