// Which models may a key use (docs/design.md §4 "Model patterns")? Patterns are compiled once, when the
// key cache is built; the request path only runs the compiled matchers.
//
// Matching rules (written down in the README as well):
// - Glob syntax: `*` matches any run of characters, including `:`, `/` and `.`; `?` matches one
//   character. Nothing else is special. `llama3.*` therefore matches `llama3.2:latest` and
//   `llama3.1:8b`; `qwen2.5:*` matches every tag of qwen2.5.
// - Case-insensitive, like Ollama's own model names.
// - Names are normalised the way Ollama resolves them, before matching: a name without a tag
//   gets `:latest` (`llama3` ≡ `llama3:latest`), and the default registry and namespace prefixes
//   `registry.ollama.ai/` and `library/` are dropped (`registry.ollama.ai/library/llama3:latest`
//   ≡ `llama3:latest`) — otherwise a key for `llama3` could not use the long spelling and a key
//   for `secret` could not be denied the long spelling of `secret`.
// - A pattern without a tag and not ending in `*` means that name's default tag, as in Ollama:
//   pattern `llama3` allows `llama3` and `llama3:latest` but not `llama3:70b`.
// - An empty list allows every model (cloud models are a separate policy: model-name.ts `cloud`).
import { ErrorCode, WardenError } from '../errors.ts';
import { MAX_MODEL_NAME, parseModelName } from './model-name.ts';

export interface ModelMatcher {
  /** true when the key has no model restriction */
  readonly allowsAll: boolean;
  /** `model` as a client wrote it; a name Ollama would not read as we do is never allowed */
  allows(model: string): boolean;
  /** the canonical key of an already parsed name (model-name.ts) */
  allowsKey(key: string): boolean;
}

const PATTERN_RE = /^[A-Za-z0-9._:/@*?+-]{1,200}$/;
const GLOB_RE = /[*?]/;

/** A pattern in the spelling of model-name.ts keys: exact patterns are parsed like any model
 *  name; a glob is lower-cased, loses the default registry and namespace, and gets the default
 *  tag when its last segment has none and it does not end in `*`. */
function normalizePattern(p: string): string | null {
  if (!GLOB_RE.test(p)) {
    const parsed = parseModelName(p);
    return parsed.ok ? parsed.key : null;
  }
  let n = p.toLowerCase();
  if (n.startsWith('registry.ollama.ai/')) n = n.slice('registry.ollama.ai/'.length);
  if (n.startsWith('library/')) n = n.slice('library/'.length);
  const lastSegment = n.slice(n.lastIndexOf('/') + 1);
  if (!lastSegment.includes(':') && !n.endsWith('*')) n += ':latest';
  return n;
}

/** null when the pattern is usable, else why not. */
export function validateModelPattern(p: string): string | null {
  if (!PATTERN_RE.test(p.trim())) return 'use letters, digits and . _ : / @ - + with the globs * and ?, at most 200 characters';
  return null;
}

/**
 * Glob match with `*` and `?`, in O(pattern × name) time at worst. Not a RegExp on purpose:
 * `.*a.*a.*a…` regexes backtrack polynomially (a pattern like `*a*a*a*a*a*a*a*b` against a long
 * name hangs the event loop — ReDoS), while this greedy matcher only ever revisits the last star.
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const pc = pattern[p];
    if (pc === '?' || (pc !== undefined && pc !== '*' && pc === name[n])) {
      p++;
      n++;
    } else if (pc === '*') {
      star = p++;
      resume = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Compile a key's model patterns. Throws WardenError (USAGE, 400) for a pattern it cannot use. */
export function compileModelPatterns(patterns: readonly string[]): ModelMatcher {
  const cleaned = patterns.map((p) => p.trim()).filter((p) => p !== '');
  if (cleaned.length === 0) return { allowsAll: true, allows: () => true, allowsKey: () => true };
  const globs: string[] = [];
  const exact = new Set<string>();
  for (const p of cleaned) {
    const why = validateModelPattern(p);
    if (why) throw new WardenError(ErrorCode.USAGE, `model pattern ${JSON.stringify(p.slice(0, 64))}: ${why}`);
    const n = normalizePattern(p);
    if (n === null) throw new WardenError(ErrorCode.USAGE, `model pattern ${JSON.stringify(p.slice(0, 64))}: not a model name Ollama accepts`);
    if (n.includes('*') || n.includes('?')) globs.push(n.replace(/\*+/g, '*'));
    else exact.add(n);
  }
  const allowsKey = (key: string): boolean => {
    if (exact.has(key)) return true;
    for (const g of globs) if (globMatch(g, key)) return true;
    return false;
  };
  return {
    allowsAll: false,
    allowsKey,
    allows(model: string): boolean {
      if (typeof model !== 'string' || model.length > MAX_MODEL_NAME) return false;
      const parsed = parseModelName(model);
      return parsed.ok && allowsKey(parsed.key);
    },
  };
}

/**
 * The models a JSON request body names (docs/design.md §4: `model`, or `name`, `source`, `destination`;
 * plus `from` for /api/create), for native and OpenAI-style bodies alike. Every named model is
 * returned, so /api/copy checks both ends. A field that is present but not a string is `invalid`
 * (Ollama would refuse it too; we do not guess what it names).
 */
export function modelsInBody(
  route: { readonly modelFields: readonly string[] },
  json: unknown,
): { models: string[] } | { invalid: string } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { invalid: 'request body must be a JSON object' };
  const body = json as Record<string, unknown>;
  const models: string[] = [];
  for (const field of route.modelFields) {
    if (!Object.hasOwn(body, field)) continue;
    const v = body[field];
    if (v === null || v === undefined || v === '') continue;
    if (typeof v !== 'string') return { invalid: `"${field}" must be a string` };
    models.push(v);
  }
  return { models };
}
