// Reading JSON bodies and query strings from the admin API into the typed values the key service,
// CA and store take. Messages follow the CLI's form "FIELD: got VALUE; what is allowed" so the UI
// can show them next to the field and a user sees the same words in both places.
import { ErrorCode, WardenError, fieldError } from '../errors.ts';
import type { KeyInput } from '../auth/key-service.ts';
import { hasDurationUnit, readDuration, readExpiry } from '../config/duration.ts';
import { NUMERIC_TEXT, notAKeepAlive, notANumber } from '../auth/key-rules.ts';

export function invalidField(field: string, message: string): WardenError {
  return fieldError(field, message);
}

/** A duration (src/config/duration.ts: the CLI's flags read the same) → seconds. */
export function parseDuration(field: string, value: unknown): number {
  const d = readDuration(value);
  if (!d.ok) throw invalidField(field, d.why);
  return d.seconds;
}

/** `expires`: a duration from now ("30d"), a date ("2026-12-31") or ISO time, or null/"" = never. */
export function parseExpires(value: unknown, now: Date = new Date()): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const e = readExpiry(value, now);
  if (!e.ok) throw invalidField('expires', e.why);
  return e.at;
}

/** A list of strings; a single comma/newline separated string is split (form fields). */
export function optStringList(field: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (value === null) return [];
  if (typeof value === 'string') return value.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((s) => s.trim()).filter(Boolean);
  throw invalidField(field, `got ${JSON.stringify(value)}; a list of strings`);
}

/** rpm/tpm/concurrency: a whole number above 0, or null/"" for unlimited. Range checks are the
 *  key service's; here only the JSON type is settled. */
export function optLimit(field: string, value: unknown): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === null || value === '') return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMERIC_TEXT.test(value)) return Number(value);
  throw invalidField(field, notANumber(value));
}

type CapFields = Pick<KeyInput, 'capNumCtx' | 'capNumPredict' | 'capKeepAlive'>;

/** `caps`: `{numCtx, numPredict, keepAlive}` as keys are serialised, each optional (absent = keep
 *  as is, null or "" = no cap); keepAlive in seconds or a duration like "30m". `caps: null` clears
 *  all three. Errors name the CLI flag (max-ctx …), the key service's words for the same field. */
export function optCaps(value: unknown): CapFields {
  if (value === undefined) return {};
  if (value === null) return { capNumCtx: null, capNumPredict: null, capKeepAlive: null };
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidField('caps', `got ${JSON.stringify(value)}; an object like {"numCtx": 8192, "keepAlive": "30m"}`);
  const c = value as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (k !== 'numCtx' && k !== 'numPredict' && k !== 'keepAlive') throw invalidField(`caps.${k}`, 'unknown field; allowed: numCtx, numPredict, keepAlive');
  }
  const out: CapFields = {};
  const numCtx = optLimit('max-ctx', c.numCtx);
  if (numCtx !== undefined) out.capNumCtx = numCtx;
  const numPredict = optLimit('max-predict', c.numPredict);
  if (numPredict !== undefined) out.capNumPredict = numPredict;
  const ka = c.keepAlive;
  // A number (or numeric text) goes to the key service as is, so 0 or 1.5 gets its message.
  if (typeof ka === 'string' && hasDurationUnit(ka)) out.capKeepAlive = parseDuration('max-keep-alive', ka);
  else if (typeof ka === 'string' && ka.trim() !== '' && !NUMERIC_TEXT.test(ka)) throw invalidField('max-keep-alive', notAKeepAlive(ka));
  else if (ka !== undefined) out.capKeepAlive = optLimit('max-keep-alive', ka);
  return out;
}

export function requiredString(field: string, value: unknown, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw invalidField(field, `got ${JSON.stringify(value ?? null)}; a non-empty text of at most ${max} characters`);
  }
  return value;
}

export function optString(field: string, value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null || value === '') return null;
  if (typeof value === 'string') return value;
  throw invalidField(field, `got ${JSON.stringify(value)}; a text`);
}

export function intInRange(field: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '' || value === null) return fallback;
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidField(field, `got ${JSON.stringify(value)}; a whole number from ${min} to ${max}`);
  }
  return n;
}

/** An object body, or a 400 naming what was sent instead. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new WardenError(ErrorCode.BAD_REQUEST, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Only these fields may appear; anything else is a typo the user should hear about. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw invalidField(k, `unknown field; allowed: ${allowed.join(', ')}`);
  }
}

/** An ISO time or a duration back from now ("1h" = one hour ago), for audit filters. */
export function parseTimeFilter(field: string, value: unknown, now: Date = new Date()): Date | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string' && hasDurationUnit(value)) return new Date(now.getTime() - parseDuration(field, value) * 1000);
  if (typeof value === 'string') {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime()) && /^\d{4}-\d{2}-\d{2}/.test(value)) return d;
  }
  throw invalidField(field, `got ${JSON.stringify(value)}; an ISO time like 2026-01-31T12:00:00Z or a duration like 1h`);
}
