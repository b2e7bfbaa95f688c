// A credential inside a JSON request body is refused (docs/design.md §3: a key in the body → 400): part of
// the request policy, so it lives here and not in src/auth (policy is the floor below auth).

/** Body fields that would carry a credential. */
const CREDENTIAL_FIELDS = new Set(['api_key', 'apikey', 'api-key', 'x-api-key', 'access_token', 'authorization']);

/** A Warden key's prefix (src/auth/key-format.ts), spelled out here as the floor below auth. */
const KEY_PREFIX = 'owk_';

/**
 * A credential inside a JSON request body (docs/design.md §3: a key in the body → 400): a top-level field
 * named like a credential, or any string value anywhere that is a Warden key by itself.
 * Returns where it was found (for the audit reason; never the value) or null.
 */
export function findCredentialInBody(json: unknown): string | null {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return walk(json, '$', 0);
  for (const name of Object.keys(json)) {
    if (CREDENTIAL_FIELDS.has(name.toLowerCase())) return `$.${name}`;
  }
  return walk(json, '$', 0);
}

const KEY_VALUE_RE = /^\s*owk_[0-9A-Za-z]{16}_[0-9A-Za-z]{39}\s*$/;
const MAX_DEPTH = 64;

function walk(v: unknown, where: string, depth: number): string | null {
  if (typeof v === 'string') return KEY_VALUE_RE.test(v) ? where : null;
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = walk(v[i], `${where}[${i}]`, depth + 1);
      if (hit) return hit;
    }
    return null;
  }
  for (const [k, child] of Object.entries(v)) {
    // the path goes to the audit log: a field name that could itself be a key is not written out
    const hit = walk(child, `${where}.${k.includes(KEY_PREFIX) || k.length > 64 ? '*' : k}`, depth + 1);
    if (hit) return hit;
  }
  return null;
}
