// The one reading of a duration, for the CLI's flags (`--grace 24h`, `--since 15m`) and the admin
// API's fields (`"grace": "24h"` or `"grace": 86400`): a whole number with an optional unit
// s, m, h, d or w; without a unit it is seconds. And of an expiry (a duration or a date), for
// those two and the UI's key form. Callers add their own error (naming the flag or the field)
// when a reading is not ok. No imports: the UI bundles it.
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** The longest duration any field takes: 100 years. Anything longer is a typo ("99999999w"), and
 *  far enough out a Date cannot hold it at all (a 500 from the store instead of a 400). */
export const MAX_DURATION_SECONDS = 100 * 365 * 86400;

export const DURATION_EXAMPLES = 'a duration like 90s, 15m, 24h, 30d or 2w';

export type DurationReading = { ok: true; seconds: number } | { ok: false; why: string };

/** "90s", "15m", "24h", "30d", "2w", "3600" or the number 3600 → seconds. */
export function readDuration(value: unknown): DurationReading {
  let seconds: number | null = null;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) seconds = Math.floor(value);
  else if (typeof value === 'string') {
    const m = /^\s*(\d{1,12})\s*([smhdw]?)\s*$/.exec(value);
    if (m) seconds = Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] ?? 1);
  }
  if (seconds === null) return { ok: false, why: `got ${JSON.stringify(value)}; expected ${DURATION_EXAMPLES}` };
  if (seconds > MAX_DURATION_SECONDS) return { ok: false, why: `got ${JSON.stringify(value)}; at most 100 years` };
  return { ok: true, seconds };
}

/** A duration that names its unit ("30d"): where a field also takes a date, only these are durations. */
export function hasDurationUnit(text: string): boolean {
  return /^\s*\d+\s*[smhdw]\s*$/.test(text);
}

/** Latest date an expiry may name (a Date and every store column can hold it). */
const MAX_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
const DATE_RE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

export type ExpiryReading = { ok: true; at: Date } | { ok: false; why: string };

/** An expiry as the CLI (`--expires`), the admin API (`expires`) and the UI's key form read it:
 *  a duration from `now` ("30d") or a date ("2027-01-31", an ISO time), in the future. */
export function readExpiry(value: unknown, now: Date = new Date()): ExpiryReading {
  if (typeof value === 'string' && hasDurationUnit(value)) {
    const d = readDuration(value);
    return d.ok ? { ok: true, at: new Date(now.getTime() + d.seconds * 1000) } : d;
  }
  const t = typeof value === 'string' ? value.trim() : '';
  const at = DATE_RE.test(t) ? new Date(t) : null;
  if (!at || Number.isNaN(at.getTime()) || at.getTime() > MAX_DATE_MS) return { ok: false, why: `got ${JSON.stringify(value)}; expected a duration like 30d or a date like 2027-01-31` };
  if (at.getTime() <= now.getTime()) return { ok: false, why: `got ${JSON.stringify(value)}; must be in the future` };
  return { ok: true, at };
}
