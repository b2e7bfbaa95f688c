// What a key's fields may hold and the words that name a broken one ("got …; …"), written once for
// the key service (which enforces them), the admin API's reading of a request body and the web
// UI's key form (which checks while the user types: web/src/pages/key-checks.ts). No imports, so
// the UI's bundle takes it as it is.

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@ -]{0,63}$/;

// The store keeps limits and caps in 32-bit INTEGER columns (PostgreSQL refuses more); 2 billion
// requests or tokens a minute, ~68 years of keep_alive or a 2-billion-token context is no limit
// anyone needs, and a larger number must be a clear error, not a failed store write (a 500).
export const MAX_CAP = 2_147_483_647;

/** Text a limit field reads as a number (so "-3" is refused as the number -3, not as text). */
export const NUMERIC_TEXT = /^\s*-?\d+(\.\d+)?\s*$/;

/** The second half of an unreadable ollama public key's message. */
export const PUBKEY_EXPECTED = 'expected "ssh-ed25519 AAAA…" (the contents of ~/.ollama/id_ed25519.pub)';

/** What is wrong with a key's name (trimmed first), or undefined. */
export function nameProblem(name: string): string | undefined {
  if (NAME_RE.test(name.trim())) return undefined;
  return `got ${JSON.stringify(name)}; 1-64 characters of letters, digits, space, . _ @ -, starting with a letter or digit`;
}

/** What is wrong with one model name or pattern (trimmed), or undefined. */
export function modelProblem(model: string): string | undefined {
  if (model.length <= 200 && !/[\s\0]/.test(model)) return undefined;
  return `got ${JSON.stringify(model)}; a model name or glob pattern like 'llama3.*'`;
}

/** What is wrong with a limit or cap (a whole number from 1 to MAX_CAP), or undefined.
 *  `unit` goes into the message: " of seconds". */
export function limitProblem(value: number, unit = ''): string | undefined {
  if (Number.isInteger(value) && value > 0 && value <= MAX_CAP) return undefined;
  return `got ${JSON.stringify(value)}; a whole number${unit} from 1 to ${MAX_CAP}`;
}

/** A limit field given text that is not a number. */
export function notANumber(value: unknown): string {
  return `got ${JSON.stringify(value)}; expected a whole number above 0`;
}

/** A keep-alive cap given text that is neither seconds nor a duration. */
export function notAKeepAlive(value: unknown): string {
  return `got ${JSON.stringify(value)}; seconds or a duration like 30m or 1h`;
}
