// Checks the key form runs while the user types, so every mistake is named at once instead of
// one per submit. They mirror the server's rules and words (src/auth/key-service.ts,
// src/admin/input.ts); the server still decides, and its message wins when the two disagree.

export interface KeyFormValues {
  name: string;
  models: string;
  expires: string;
  rpm: string;
  tpm: string;
  concurrency: string;
  maxCtx: string;
  maxPredict: string;
  maxKeepAlive: string;
  /** One ollama public key per line (the contents of ~/.ollama/id_ed25519.pub). */
  pubkeys: string;
}

/** Field id (the server's field names) → message. */
export type FormErrors = Partial<Record<string, string>>;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@ -]{0,63}$/;
const MAX_CAP = 2_147_483_647;

function whole(field: string, v: string, max = MAX_CAP, unit = ''): string | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  // As the server words it: numeric text is read as a number first ("got -3"), other text is quoted.
  if (!/^-?\d+(\.\d+)?$/.test(t)) return `${field}: got ${JSON.stringify(t)}; expected a whole number above 0`;
  const n = Number(t);
  if (!Number.isInteger(n) || n <= 0 || n > max) return `${field}: got ${JSON.stringify(n)}; a whole number${unit} from 1 to ${max}`;
  return undefined;
}

export function checkKeyForm(f: KeyFormValues, now: Date = new Date()): FormErrors {
  const e: FormErrors = {};
  if (!NAME_RE.test(f.name.trim())) e.name = `name: got ${JSON.stringify(f.name)}; 1-64 characters of letters, digits, space, . _ @ -, starting with a letter or digit`;
  const exp = f.expires.trim();
  if (exp !== '' && !/^\d+\s*[smhdw]$/.test(exp)) {
    const d = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(exp) ? new Date(exp) : null;
    if (!d || Number.isNaN(d.getTime())) e.expires = `expires: got ${JSON.stringify(exp)}; expected a duration like 30d or a date like 2027-01-31`;
    else if (d.getTime() <= now.getTime()) e.expires = `expires: got ${JSON.stringify(exp)}; must be in the future`;
  }
  for (const m of f.models.split(/[,\n]/).map((s) => s.trim()).filter(Boolean)) {
    if (m.length > 200 || /\s/.test(m)) {
      e.model = `model: got ${JSON.stringify(m)}; a model name or glob pattern like 'llama3.*'`;
      break;
    }
  }
  const set = (k: string, msg: string | undefined) => {
    if (msg) e[k] = msg;
  };
  set('rpm', whole('rpm', f.rpm));
  set('tpm', whole('tpm', f.tpm));
  set('concurrency', whole('concurrency', f.concurrency));
  set('max-ctx', whole('max-ctx', f.maxCtx, MAX_CAP));
  set('max-predict', whole('max-predict', f.maxPredict, MAX_CAP));
  const ka = f.maxKeepAlive.trim();
  if (ka !== '' && !/^\d+\s*[smhdw]$/.test(ka)) set('max-keep-alive', /^\d+$/.test(ka) ? whole('max-keep-alive', ka, MAX_CAP, ' of seconds') : `max-keep-alive: got ${JSON.stringify(ka)}; seconds or a duration like 30m or 1h`);
  for (const line of f.pubkeys.split('\n').map((s) => s.trim()).filter(Boolean)) {
    if (!/^ssh-ed25519 AAAA[A-Za-z0-9+/]+=*( .*)?$/.test(line)) {
      e['ollama-pubkey'] = `ollama-pubkey: got ${JSON.stringify(line.length > 40 ? line.slice(0, 40) + '…' : line)}; expected "ssh-ed25519 AAAA…" (the contents of ~/.ollama/id_ed25519.pub)`;
      break;
    }
  }
  return e;
}
