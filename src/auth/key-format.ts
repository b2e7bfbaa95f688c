// The API key format (docs/design.md §3). One string carries everything a secret scanner and the
// request path need to know before touching the store:
//
//   owk_<16 base62: key id body>_<33 base62: secret><6 base62: checksum>
//   e.g. owk_7Hq2c9LmZp0aXw3B_<33 chars><6 chars>   (61 characters in all)
//
// - `owk_` ("Ollama Warden key") is a fixed prefix so scanners (GitHub secret scanning,
//   trufflehog, gitleaks) can match it with one regex and no false positives.
// - The id body maps to the public record id `key_<same 16 chars>`: the request path finds
//   the record by id and then compares one hash, never scanning all keys.
// - The secret is 33 base62 characters from crypto.randomBytes with rejection sampling:
//   33 × log2(62) ≈ 196.5 bits ≥ the 192 bits docs/design.md §3 asks for.
// - The checksum is CRC-32 (zlib.crc32) of everything before it, written in base62 and
//   zero-padded to 6 characters (62^6 > 2^32). Like GitHub's token checksum it lets a scanner
//   or Warden reject a typo'd or made-up key without a store lookup. It is NOT a MAC: it
//   protects nothing by itself; the SHA-256 comparison does.
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_PREFIX = 'owk_';
export const KEY_ID_PREFIX = 'key_';
export const KEY_ID_BODY_LENGTH = 16;
export const KEY_SECRET_LENGTH = 33;
export const KEY_CHECKSUM_LENGTH = 6;

const KEY_RE = /^owk_([0-9A-Za-z]{16})_([0-9A-Za-z]{33})([0-9A-Za-z]{6})$/;
const KEY_ID_RE = /^key_[0-9A-Za-z]{16}$/;

/** Uniform base62 string: bytes ≥ 248 (= 4 × 62) are thrown away so no character is favoured. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const buf = randomBytes(length * 2);
    for (const b of buf) {
      if (b >= 248) continue;
      out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** CRC-32 of `text` in base62, zero-padded to 6 characters. */
export function checksum(text: string): string {
  let n = crc32(text);
  let out = '';
  while (n > 0) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(KEY_CHECKSUM_LENGTH, '0');
}

/** A new key and its record id. Show `key` once and store only hashKey(key). */
export function generateKey(): { id: string; key: string } {
  const idBody = randomBase62(KEY_ID_BODY_LENGTH);
  return { id: KEY_ID_PREFIX + idBody, key: keyForId(KEY_ID_PREFIX + idBody) };
}

/** A new secret for an existing record id (rotation keeps the id). */
export function keyForId(id: string): string {
  if (!KEY_ID_RE.test(id)) throw new TypeError('key id must be key_ + 16 base62 characters');
  const body = `${KEY_PREFIX}${id.slice(KEY_ID_PREFIX.length)}_${randomBase62(KEY_SECRET_LENGTH)}`;
  return body + checksum(body);
}

/**
 * Split a presented key. null: not a Warden key at all (wrong length, prefix or alphabet).
 * checksumOk false: the shape is right but the checksum is not — refuse without a store lookup.
 */
export function parseKey(s: string): { id: string; checksumOk: boolean } | null {
  const m = KEY_RE.exec(s);
  if (!m) return null;
  const [, idBody, , sum] = m;
  const body = s.slice(0, s.length - KEY_CHECKSUM_LENGTH);
  return { id: KEY_ID_PREFIX + (idBody ?? ''), checksumOk: checksum(body) === sum };
}

/** Hex SHA-256 of the whole key string; the only form a key is ever stored in. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

