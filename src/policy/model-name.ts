// What a model name is, decided once, the way Ollama decides it (docs/design.md §4 "Model patterns").
// Every consumer — the cloud rule, the keys' model patterns, model-list filtering and upstream
// routing — reads names through parseModelName(), so they can never disagree with each other.
//
// Ollama (v0.33, internal/modelref + types/model) reads a name in two steps:
//   1. modelref.ParseRef: strings.TrimSpace the whole name, then look at the part after the last
//      `:`, itself TrimSpace'd and lower-cased: `cloud` / `local` is an explicit source and is cut
//      off; a part ending in `-cloud` (and holding no `/`) is a cloud source with `-cloud` cut off.
//      A second explicit suffix under the first is an error.
//   2. model.ParseName on what is left: `[scheme://][host/][namespace/]model[:tag]`, defaults
//      registry.ollama.ai / library / latest, each part from a small ASCII alphabet.
// Go's TrimSpace strips all of Unicode White_Space (U+0085, U+00A0, U+2000–U+200A, U+3000 …),
// JavaScript's trim() a different set. Rather than imitate every trim, a name holding anything
// outside Ollama's own alphabet (letters, digits, `_ - . : /`) is refused: such a name is either
// invalid to Ollama too or one Ollama would read after trimming — i.e. differently from us.
// So a name is either refused (400) or has exactly one meaning, shared with Ollama.

export interface ModelName {
  /** the name as the client wrote it */
  readonly raw: string;
  /** One spelling per model, lower case: `llama3:latest`, `user/m:tag`, `hf.co/u/m:latest`,
   *  and for cloud models the spelling /api/tags shows (`gpt-oss:120b-cloud`, `qwen3:cloud`).
   *  Patterns, list filtering and upstream routing all compare this. */
  readonly key: string;
  /** served by ollama.com through the local server (spends the owner's account) */
  readonly cloud: boolean;
  /** The registry Ollama pulls this name from or pushes it to, lower case, `:port` kept:
   *  `registry.ollama.ai` unless the name says otherwise (`hf.co/u/m` → `hf.co`,
   *  `10.0.0.5:8080/ns/m` → `10.0.0.5:8080`). Ollama dials it as written (types/model BaseURL). */
  readonly host: string;
}

export type ParsedModelName = ({ ok: true } & ModelName) | { ok: false; reason: string };

const DEFAULT_HOST = 'registry.ollama.ai';
const DEFAULT_NAMESPACE = 'library';
const DEFAULT_TAG = 'latest';
/** Longest name looked at; Ollama's own parts add up to less (350 + 3 × 80 + separators). */
export const MAX_MODEL_NAME = 700;
/** Ollama's alphabet for every part of a name, scheme separator included. */
const NAME_CHARS = /^[A-Za-z0-9_.:/-]+$/;
const MISSING = '\u0000missing';

type Kind = 'host' | 'namespace' | 'model' | 'tag';

/** types/model isValidPart: first byte alphanumeric or `_`; then `_ -`, `.` (not in a
 *  namespace), `:` (host only); length 1–80 (host 1–350). */
function validPart(kind: Kind, s: string): boolean {
  if (s.length < 1 || s.length > (kind === 'host' ? 350 : 80)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (alnum) continue;
    if (i === 0) return false;
    if (c === 45) continue; // -
    if (c === 46 && kind !== 'namespace') continue; // .
    if (c === 58 && kind === 'host') continue; // :
    return false;
  }
  return true;
}

/** strings.Cut at the LAST `sep`, empty sides marked missing (types/model cutPromised). */
function cutLast(s: string, sep: string): [string, string] | null {
  const i = s.lastIndexOf(sep);
  if (i < 0) return null;
  return [s.slice(0, i) || MISSING, s.slice(i + sep.length) || MISSING];
}

interface Parts {
  scheme: string;
  host: string;
  namespace: string;
  model: string;
  tag: string;
  explicitTag: boolean;
}

/** types/model ParseName (ParseNameBare merged with the defaults). */
function parseName(s: string): Parts {
  const p: Parts = { scheme: '', host: '', namespace: '', model: '', tag: '', explicitTag: false };
  if (s.lastIndexOf(':') > s.lastIndexOf('/')) {
    const [rest, tag] = cutLast(s, ':')!;
    s = rest;
    p.tag = tag;
    p.explicitTag = true;
  }
  const m = cutLast(s, '/');
  if (!m) {
    p.model = s;
  } else {
    [s, p.model] = m;
    const n = cutLast(s, '/');
    if (!n) {
      p.namespace = s;
    } else {
      [s, p.namespace] = n;
      const at = s.indexOf('://');
      if (at >= 0) {
        p.scheme = s.slice(0, at);
        p.host = s.slice(at + 3);
      } else {
        p.host = s;
      }
    }
  }
  p.host ||= DEFAULT_HOST;
  p.namespace ||= DEFAULT_NAMESPACE;
  p.tag ||= DEFAULT_TAG;
  return p;
}

/** internal/modelref parseSourceSuffix, on a name already free of spaces. */
function sourceSuffix(raw: string): { base: string; source: 'cloud' | 'local' } | null {
  const i = raw.lastIndexOf(':');
  if (i < 0) return null;
  const suffixRaw = raw.slice(i + 1);
  const suffix = suffixRaw.toLowerCase();
  if (suffix === 'cloud') return { base: raw.slice(0, i), source: 'cloud' };
  if (suffix === 'local') return { base: raw.slice(0, i), source: 'local' };
  if (!suffixRaw.includes('/') && suffix.endsWith('-cloud')) return { base: raw.slice(0, i + 1) + suffixRaw.slice(0, -'-cloud'.length), source: 'cloud' };
  return null;
}

/** The short, lower-case spelling of a parsed name (types/model DisplayShortest). */
function shortest(p: Parts): string {
  const host = p.host.toLowerCase();
  const ns = p.namespace.toLowerCase();
  const tail = `${p.model}:${p.tag}`.toLowerCase();
  if (host !== DEFAULT_HOST) return `${host}/${ns}/${tail}`;
  if (ns !== DEFAULT_NAMESPACE) return `${ns}/${tail}`;
  return tail;
}

function invalidParts(p: Parts): string | null {
  if (p.scheme !== '' && !/^https?$/i.test(p.scheme)) return 'the only schemes are http:// and https://';
  if (!validPart('host', p.host)) return 'the registry host is not valid';
  if (!validPart('namespace', p.namespace)) return 'the namespace is not valid';
  if (!validPart('model', p.model)) return 'the model part is not valid';
  if (!validPart('tag', p.tag)) return 'the tag is not valid';
  return null;
}

/** Reads a model name the way Ollama does, or says why it will not. Never throws. */
export function parseModelName(raw: unknown): ParsedModelName {
  if (typeof raw !== 'string') return { ok: false, reason: 'a model name must be a string' };
  if (raw.length === 0) return { ok: false, reason: 'the model name is empty' };
  if (raw.length > MAX_MODEL_NAME) return { ok: false, reason: `the model name is longer than ${MAX_MODEL_NAME} characters` };
  if (!NAME_CHARS.test(raw)) return { ok: false, reason: 'a model name may only hold letters, digits and _ - . : / (no spaces or other characters)' };

  const explicit = sourceSuffix(raw);
  let base = raw;
  let cloud = false;
  if (explicit) {
    if (sourceSuffix(explicit.base)) return { ok: false, reason: 'use either :local or :cloud, not both' };
    base = explicit.base;
    cloud = explicit.source === 'cloud';
  }
  const parts = parseName(base);
  const why = invalidParts(parts);
  if (why) return { ok: false, reason: why };

  let key = shortest(parts);
  if (cloud) {
    // The spelling Ollama pulls and lists a cloud model under (modelref toLegacyCloudPullName):
    // `gpt-oss:120b:cloud` and `gpt-oss:120b-cloud` are one model, `qwen3:cloud` another.
    const legacy = parseName(parts.explicitTag ? `${base}-cloud` : `${base}:cloud`);
    if (invalidParts(legacy)) return { ok: false, reason: 'the tag is not valid' };
    key = shortest(legacy);
  } else if (!parts.explicitTag && parts.model.toLowerCase().endsWith('-cloud')) {
    // Ollama runs `foo-cloud` as a local model; counting it as cloud only over-refuses, and a
    // rename costs less than the owner's quota.
    cloud = true;
  }
  return { ok: true, raw, key, cloud, host: parts.host.toLowerCase() };
}

/** parseModelName for callers that only need the comparison key (null: not a name Ollama would use). */
export function modelKey(raw: unknown): string | null {
  const p = parseModelName(raw);
  return p.ok ? p.key : null;
}
