// Caps on expensive requests (config `caps`). One request can pin a GPU for hours: a huge
// `num_ctx` allocates a KV cache the size of the card, `num_predict: -1` (Ollama's default) lets a
// model talk until its context is full, and `keep_alive: -1` keeps a model resident forever, so
// nobody else's model fits. Each cap is optional (null = no cap); `mode` says what happens to a
// request over a cap: `refuse` (403, nothing reaches Ollama) or `clamp` (the body is rewritten
// with the cap and forwarded).
//
// Where the fields are (ollama/ollama docs/api.md and docs/openai.md):
//   native  /api/generate /api/chat          options.num_ctx, options.num_predict, keep_alive
//           /api/embed /api/embeddings       options.num_ctx, keep_alive
//   OpenAI  /v1/chat/completions             max_tokens, max_completion_tokens (→ num_predict)
//           /v1/completions /v1/messages     max_tokens
//           /v1/responses                    max_output_tokens
// A missing num_predict / max_tokens means "unlimited" to Ollama, so under a numPredict cap the
// cap is filled in (in both modes: refusing every request that omits it would break every client).
// A missing num_ctx or keep_alive means the operator's own server default and is left alone.
//
// A key may carry its own caps (`warden keys update --max-ctx …`). The cap in force for a field is
// the lower of the server's and the key's, so a key can be held tighter than everyone else but
// never looser; `mode` is the server's for both.
//
// Everything is compiled once at start-up; per request it is one Map lookup and a few field reads.
// A request when neither the server nor the key has a cap returns before allocating anything.
import { ErrorCode, WardenError, configError } from '../errors.ts';
import type { KeyRecord } from '../store/types.ts';

export type CapsMode = 'refuse' | 'clamp';

export interface CapsConfig {
  mode: CapsMode;
  numCtx: number | null;
  numPredict: number | null;
  /** seconds, or a Go duration such as "30m" */
  keepAlive: number | string | null;
}

export type CapVerdict =
  | { ok: true; changed: false }
  /** `body` is a new object (the input is not modified); `notes` say what was clamped, for the audit log. */
  | { ok: true; changed: true; body: Record<string, unknown>; notes: string[] }
  /** refused (403, the message names the field and whose limit) */
  | WardenError;

function refuse(message: string, reason: string): WardenError {
  return new WardenError(ErrorCode.FORBIDDEN_POLICY, message, { reason });
}

/** One key's caps (store fields capNumCtx, capNumPredict, capKeepAlive); null = no cap from the key. */
export interface KeyCaps {
  readonly numCtx: number | null;
  readonly numPredict: number | null;
  /** seconds */
  readonly keepAlive: number | null;
}

/** The caps of a key record, or null when it has none (the gateway's cheap test per request). */
export function keyCapsOf(r: Pick<KeyRecord, 'capNumCtx' | 'capNumPredict' | 'capKeepAlive'>): KeyCaps | null {
  const { capNumCtx: numCtx, capNumPredict: numPredict, capKeepAlive: keepAlive } = r;
  return numCtx === null && numPredict === null && keepAlive === null ? null : { numCtx, numPredict, keepAlive };
}

export interface CompiledCaps {
  /** false when the server sets no cap: callers can skip the call for a key without caps */
  readonly active: boolean;
  /** `keyCaps`: the calling key's own caps, if any; the lower of it and the server's cap wins. */
  apply(routeName: string, body: unknown, keyCaps?: KeyCaps | null): CapVerdict;
}

const UNCHANGED: CapVerdict = Object.freeze({ ok: true, changed: false } as const);

type Where = 'options' | 'top';
interface FieldRule {
  field: string;
  where: Where;
  cap: 'numCtx' | 'numPredict' | 'keepAlive';
}

const NATIVE_GEN: readonly FieldRule[] = [
  { field: 'num_ctx', where: 'options', cap: 'numCtx' },
  { field: 'num_predict', where: 'options', cap: 'numPredict' },
  { field: 'keep_alive', where: 'top', cap: 'keepAlive' },
];
const NATIVE_EMBED: readonly FieldRule[] = [
  { field: 'num_ctx', where: 'options', cap: 'numCtx' },
  { field: 'keep_alive', where: 'top', cap: 'keepAlive' },
];
const maxTokens = (...fields: string[]): FieldRule[] => fields.map((field) => ({ field, where: 'top' as const, cap: 'numPredict' as const }));

/** route name → the fields that carry a cap; the first numPredict field is the one filled in when absent */
const RULES: ReadonlyMap<string, readonly FieldRule[]> = new Map([
  ['POST /api/generate', NATIVE_GEN],
  ['POST /api/chat', NATIVE_GEN],
  ['POST /api/embed', NATIVE_EMBED],
  ['POST /api/embeddings', NATIVE_EMBED],
  ['POST /v1/chat/completions', maxTokens('max_tokens', 'max_completion_tokens')],
  ['POST /v1/completions', maxTokens('max_tokens')],
  ['POST /v1/messages', maxTokens('max_tokens')],
  ['POST /v1/responses', maxTokens('max_output_tokens')],
]);

const GO_UNITS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * Seconds in a Go duration string (time.ParseDuration: "300ms", "1.5h", "2h45m", "-1m"), or null
 * when it is not one. Ollama reads string keep_alive values with exactly this function.
 */
export function parseGoDuration(text: string): number | null {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (!m) return text === '0' || text === '-0' || text === '+0' ? 0 : null;
  let total = 0;
  for (const part of text.slice(m[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * GO_UNITS[part[2]!]!;
  }
  return m[1] === '-' ? -total : total;
}

/**
 * keep_alive as Ollama reads it (api/types.go Duration.UnmarshalJSON): a number is seconds, a
 * string is a Go duration, and anything negative means "keep the model loaded forever".
 * Returns seconds (Infinity for forever) or null when Ollama would not accept it either.
 */
export function keepAliveSeconds(v: unknown): number | null {
  let s: number | null = null;
  if (typeof v === 'number' && Number.isFinite(v)) s = v;
  else if (typeof v === 'string') s = parseGoDuration(v.trim());
  if (s === null) return null;
  return s < 0 ? Number.POSITIVE_INFINITY : s;
}

/** Whether the key's cap is the one in force. On a tie the server's is named: lifting the key's
 *  would not let the request through. */
function keyBinds(serverCap: number | null, keyCap: number | null): boolean {
  return keyCap !== null && (serverCap === null || keyCap < serverCap);
}

/** Validates the config once; a bad keepAlive stops start-up naming the field. */
export function compileCaps(cfg: CapsConfig): CompiledCaps {
  let keepAlive: number | null = null;
  if (cfg.keepAlive !== null) {
    keepAlive = keepAliveSeconds(cfg.keepAlive);
    if (keepAlive === null || keepAlive === Number.POSITIVE_INFINITY || keepAlive <= 0) {
      throw configError('caps.keepAlive', `${JSON.stringify(cfg.keepAlive)} is not allowed; expected positive seconds or a duration like "30m" (or null for no cap)`);
    }
  }
  const limits = { numCtx: cfg.numCtx, numPredict: cfg.numPredict, keepAlive };
  const active = limits.numCtx !== null || limits.numPredict !== null || limits.keepAlive !== null;
  const clamp = cfg.mode === 'clamp';

  return {
    active,
    apply(routeName, body, keyCaps) {
      if (!active && !keyCaps) return UNCHANGED;
      const rules = RULES.get(routeName);
      if (!rules || body === null || typeof body !== 'object' || Array.isArray(body)) return UNCHANGED;
      const top = body as Record<string, unknown>;
      const rawOptions = top.options;
      if (rawOptions !== undefined && rawOptions !== null && (typeof rawOptions !== 'object' || Array.isArray(rawOptions))) {
        return refuse('"options" must be a JSON object', 'caps: options is not an object');
      }
      const options = (rawOptions ?? undefined) as Record<string, unknown> | undefined;
      let outTop: Record<string, unknown> | undefined;
      let outOptions: Record<string, unknown> | undefined;
      let notes: string[] | undefined;
      let numPredictSeen = false;

      for (const rule of rules) {
        const serverCap = limits[rule.cap];
        const keyCap = keyCaps ? keyCaps[rule.cap] : null;
        const byKey = keyBinds(serverCap, keyCap);
        const cap = byKey ? keyCap : serverCap;
        if (cap === null) continue;
        const holder = rule.where === 'options' ? options : top;
        const name = rule.where === 'options' ? `options.${rule.field}` : rule.field;
        if (!holder || !Object.hasOwn(holder, rule.field) || holder[rule.field] === null) continue;
        if (rule.cap === 'numPredict') numPredictSeen = true;
        const raw = holder[rule.field];
        // -1 (and -2, "fill the context") mean unlimited for num_predict; any negative keep_alive means forever.
        let value: number | null;
        if (rule.cap === 'keepAlive') value = keepAliveSeconds(raw);
        else value = typeof raw === 'number' && Number.isFinite(raw) ? (rule.cap === 'numPredict' && raw < 0 ? Number.POSITIVE_INFINITY : raw) : null;
        if (value === null) {
          return refuse(`${name} is not a valid value`, `caps: ${name} is not a number or duration`);
        }
        if (value <= cap) continue;
        const shown = value === Number.POSITIVE_INFINITY ? 'unlimited' : String(raw);
        const whose = byKey ? ' (key cap)' : '';
        if (!clamp) {
          return refuse(
            `${name} ${shown} is over ${byKey ? "this key's" : "this server's"} limit of ${cap}${rule.cap === 'keepAlive' ? ' seconds' : ''}`,
            `caps: ${name} ${shown.slice(0, 32)} > ${cap}${whose}`,
          );
        }
        if (rule.where === 'options') (outOptions ??= { ...options })[rule.field] = cap;
        else (outTop ??= { ...top })[rule.field] = cap;
        (notes ??= []).push(`${name} ${shown.slice(0, 32)}→${cap}${whose}`);
      }

      // Ollama's default num_predict is unlimited: fill in the cap when the client named none.
      const keyPredict = keyCaps ? keyCaps.numPredict : null;
      const predictByKey = keyBinds(limits.numPredict, keyPredict);
      const predictCap = predictByKey ? keyPredict : limits.numPredict;
      const predictRule = predictCap !== null && !numPredictSeen ? rules.find((r) => r.cap === 'numPredict') : undefined;
      if (predictRule) {
        if (predictRule.where === 'options') (outOptions ??= { ...options })[predictRule.field] = predictCap;
        else (outTop ??= { ...top })[predictRule.field] = predictCap;
        (notes ??= []).push(`${predictRule.where === 'options' ? 'options.' : ''}${predictRule.field} unset→${predictCap}${predictByKey ? ' (key cap)' : ''}`);
      }
      if (!notes) return UNCHANGED;
      outTop ??= { ...top };
      if (outOptions) outTop.options = outOptions;
      return { ok: true, changed: true, body: outTop, notes };
    },
  };
}
