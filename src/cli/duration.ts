// Durations and dates on the command line: `30d`, `24h`, `15m`, `90s`, `2w` (a bare number is
// seconds), or an ISO date.
import { usageError } from '../errors.ts';
import { hasDurationUnit, readDuration } from '../config/duration.ts';

/** `24h` → 86400, `90` → 90 (the admin API reads the same: src/config/duration.ts). Throws a
 *  usage error naming the flag. */
export function parseDuration(text: string, flag: string): number {
  const d = readDuration(text);
  if (!d.ok) throw usageError(`${flag}: ${d.why}`);
  return d.seconds;
}

/** `--expires 30d` or `--expires 2027-01-31` → a Date in the future. */
export function parseExpiry(text: string, flag = '--expires', now = Date.now()): Date {
  if (hasDurationUnit(text)) return new Date(now + parseDuration(text, flag) * 1000);
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw usageError(`${flag}: got ${JSON.stringify(text)}; expected a duration like 30d or a date like 2027-01-31`);
  if (d.getTime() <= now) throw usageError(`${flag}: got ${JSON.stringify(text)}; must be in the future`);
  return d;
}

export function parsePositiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0) throw usageError(`${flag}: got ${JSON.stringify(text)}; expected a whole number above 0`);
  return Number(text);
}
