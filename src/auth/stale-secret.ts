// A refused credential that is genuinely one of our keys' secrets — a client still using a key
// after it was rotated, revoked or expired, or from a connection its binding does not allow — is
// not a guess. It is refused all the same, but audited with that key's id ("stale secret of
// key_…") so the operator sees who it is, and it does not count towards the lockout: one
// forgotten script must not lock out everyone behind the same NAT. Only asked after a refusal.
import { hash, timingSafeEqual } from 'node:crypto';
import type { WardenError } from '../errors.ts';
import { mayBeStaleSecret, wasRefusedAfterProof } from './authenticate.ts';
import type { Credential } from './credentials.ts';
import { parseKey } from './key-format.ts';
import type { CachedKey, KeyCache } from './key-cache.ts';

/** The key whose (current or earlier) secret this refused credential is, or null for anything else. */
export function staleSecretOf(cred: Credential, refusal: WardenError, keys: KeyCache): CachedKey | null {
  if (!mayBeStaleSecret(refusal)) return null;
  if (cred.kind === 'ollama-signature') return wasRefusedAfterProof(refusal) ? (keys.byOllamaPubkey(cred.publicKey) ?? null) : null;
  if (cred.kind !== 'key') return null;
  const parsed = parseKey(cred.key);
  if (!parsed || !parsed.checksumOk) return null;
  const k = keys.get(parsed.id);
  if (!k) return null;
  const digest = hash('sha256', cred.key, 'buffer');
  // every hash the cache keeps for the key: the current secret and the one it was rotated from
  let match = false;
  for (const h of k.hashes) if (h.length === digest.length && timingSafeEqual(digest, h)) match = true;
  return match ? k : null;
}
