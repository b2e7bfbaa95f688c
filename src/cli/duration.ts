// Durations and dates on the command line: `30d`, `24h`, `15m`, `90s`, `2w`, or an ISO date.
import { usageError } from '../errors.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `24h` → 86400. Throws a usage error naming the flag. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m) throw usageError(`${flag}: got ${JSON.stringify(text)}; expected a duration like 90s, 15m, 24h, 30d or 2w`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** `--expires 30d` or `--expires 2027-01-31` → a Date in the future. */
export function parseExpiry(text: string, flag = '--expires', now = Date.now()): Date {
  if (/^\d+\s*[smhdw]$/.test(text.trim())) return new Date(now + parseDuration(text, flag) * 1000);
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw usageError(`${flag}: got ${JSON.stringify(text)}; expected a duration like 30d or a date like 2027-01-31`);
  if (d.getTime() <= now) throw usageError(`${flag}: got ${JSON.stringify(text)}; must be in the future`);
  return d;
}

export function parsePositiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0) throw usageError(`${flag}: got ${JSON.stringify(text)}; expected a whole number above 0`);
  return Number(text);
}
