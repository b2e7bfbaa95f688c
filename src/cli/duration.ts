// Durations and dates on the command line: `30d`, `24h`, `15m`, `90s`, `2w` (a bare number is
// seconds), or an ISO date.
import { usageError } from '../errors.ts';
import { readDuration, readExpiry } from '../config/duration.ts';

/** `24h` → 86400, `90` → 90 (the admin API reads the same: src/config/duration.ts). Throws a
 *  usage error naming the flag. */
export function parseDuration(text: string, flag: string): number {
  const d = readDuration(text);
  if (!d.ok) throw usageError(`${flag}: ${d.why}`);
  return d.seconds;
}

/** `--expires 30d` or `--expires 2027-01-31` → a Date in the future. */
export function parseExpiry(text: string, flag = '--expires', now = Date.now()): Date {
  const e = readExpiry(text, new Date(now));
  if (!e.ok) throw usageError(`${flag}: ${e.why}`);
  return e.at;
}

export function parsePositiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0) throw usageError(`${flag}: got ${JSON.stringify(text)}; expected a whole number above 0`);
  return Number(text);
}
