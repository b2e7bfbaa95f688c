// Checks the key form runs while the user types, so every mistake is named at once instead of
// one per submit. The rules and words are the server's own (src/auth/key-rules.ts,
// src/config/duration.ts), imported; only the form's text is read here as the admin API reads a
// body (src/admin/input.ts). The server still decides, and its message wins when the two disagree.
import { NUMERIC_TEXT, PUBKEY_EXPECTED, limitProblem, modelProblem, nameProblem, notAKeepAlive, notANumber } from '../../../src/auth/key-rules.ts';
import { hasDurationUnit, readDuration, readExpiry } from '../../../src/config/duration.ts';

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

/** A limit field's text: empty is "none"; numeric text is read as a number first ("got -3"). */
function whole(field: string, v: string, unit = ''): string | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  const problem = NUMERIC_TEXT.test(t) ? limitProblem(Number(t), unit) : notANumber(t);
  return problem && `${field}: ${problem}`;
}

/** The keep-alive cap: seconds, or a duration like 30m (then as many seconds). */
function keepAlive(v: string): string | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  if (!hasDurationUnit(t)) return NUMERIC_TEXT.test(t) ? whole('max-keep-alive', t, ' of seconds') : `max-keep-alive: ${notAKeepAlive(t)}`;
  const d = readDuration(t);
  const problem = d.ok ? limitProblem(d.seconds, ' of seconds') : d.why;
  return problem && `max-keep-alive: ${problem}`;
}

export function checkKeyForm(f: KeyFormValues, now: Date = new Date()): FormErrors {
  const e: FormErrors = {};
  const set = (k: string, msg: string | undefined) => {
    if (msg) e[k] = msg;
  };
  const name = nameProblem(f.name);
  if (name) set('name', `name: ${name}`);
  const exp = f.expires.trim();
  const expiry = exp === '' ? null : readExpiry(exp, now);
  if (expiry && !expiry.ok) set('expires', `expires: ${expiry.why}`);
  for (const m of f.models.split(/[,\n]/).map((s) => s.trim()).filter(Boolean)) {
    const problem = modelProblem(m);
    if (problem) {
      set('model', `model: ${problem}`);
      break;
    }
  }
  set('rpm', whole('rpm', f.rpm));
  set('tpm', whole('tpm', f.tpm));
  set('concurrency', whole('concurrency', f.concurrency));
  set('max-ctx', whole('max-ctx', f.maxCtx));
  set('max-predict', whole('max-predict', f.maxPredict));
  set('max-keep-alive', keepAlive(f.maxKeepAlive));
  for (const line of f.pubkeys.split('\n').map((s) => s.trim()).filter(Boolean)) {
    if (!/^ssh-ed25519 AAAA[A-Za-z0-9+/]+=*( .*)?$/.test(line)) {
      e['ollama-pubkey'] = `ollama-pubkey: got ${JSON.stringify(line.length > 40 ? line.slice(0, 40) + '…' : line)}; ${PUBKEY_EXPECTED}`;
      break;
    }
  }
  return e;
}
