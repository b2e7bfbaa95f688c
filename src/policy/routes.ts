// The route table of docs/design.md §4, compiled once at start-up. Default-deny: lookup() answers null
// for anything not listed, and the caller answers 404 without contacting Ollama. Exact routes
// are one Map lookup on `METHOD path`; the few parameterised and prefix routes are checked after.
//
// Scopes for routes the design table (docs/design.md §4) leaves open (written down in the README):
// - account routes (/api/me, /api/signout, /api/user/keys/*, /debug/*) need `admin` even when
//   policy.allowAccountRoutes lets them through; /api/experimental/* (web search/fetch tools)
//   needs `inference`. Without allowAccountRoutes they are `blocked` (authorize → 403).
// - /_warden/health is public; /_warden/metrics takes `admin` or `metrics`. These are served by
//   Warden itself (`handler: 'warden'`). The rest of /_warden/ is not in this table: the gateway
//   hands it to the admin app before any lookup, and the admin app's requireAdmin
//   (src/admin/auth.ts) is where its `admin` scope (or a UI session) is enforced.
import type { Scope } from '../store/types.ts';

/** json: read whole, parsed, inspected, forwarded as read; form: the same for multipart/form-data
 *  (multipart.ts); stream: piped (blob uploads); none: no body expected. */
export type BodyKind = 'json' | 'form' | 'stream' | 'none';
export type ModelField = 'body' | 'path' | 'none';
export type ListFilter = 'tags' | 'ps' | 'v1models';

export interface RouteSpec {
  /** stable name for logs and metrics, e.g. `POST /api/chat`, `GET /v1/models/:model` */
  readonly name: string;
  /** the key needs at least one of these; empty = no credentials needed (only /_warden/health) */
  readonly scopes: readonly Scope[];
  /** where the model named by the request is */
  readonly modelField: ModelField;
  /** for modelField 'body': the JSON fields naming models (all are checked) */
  readonly modelFields: readonly string[];
  readonly bodyKind: BodyKind;
  /** response filtering to the models the key may see */
  readonly filter: ListFilter | null;
  /** account/debug route refused by policy (allowAccountRoutes false) */
  readonly blocked: boolean;
  /** /api/pull and /api/push: refuse `insecure: true` unless policy.allowInsecureRegistries */
  readonly checkInsecure: boolean;
  /** /v1/messages, /v1/responses: Ollama runs built-in tools (web search on ollama.com) named in
   *  `tools`; refused unless policy.allowServerTools (outbound.ts) */
  readonly serverTools: boolean;
  /** body fields naming a model Ollama fetches from or sends to the registry in its name: each
   *  name's host must be in policy.registries (registries.ts) */
  readonly registryFields: readonly string[];
  /** /api/create: `remote_host` and blob references (`files`, `adapters`, `draft_files`) are checked (outbound.ts) */
  readonly createRefs: boolean;
  /** upstream: proxied to Ollama; warden: Warden's own admin API, UI, health and metrics */
  readonly handler: 'upstream' | 'warden';
}

export interface RouteMatch extends RouteSpec {
  readonly params: Readonly<Record<string, string>>;
  /** a path parameter failed validation (e.g. a blob digest that is not sha256:<64 hex>):
   *  authorize() answers 400 with this reason; the request is never forwarded */
  readonly invalid: string | null;
}

export interface RouteTable {
  lookup(method: string, path: string): RouteMatch | null;
}

export interface RoutePolicy {
  allowAccountRoutes: boolean;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const MODEL_NAME_FIELDS = ['model', 'name'] as const;
const DIGEST_RE = /^sha256[:-][0-9a-fA-F]{64}$/;

type Partial_ = Partial<Omit<RouteSpec, 'name' | 'scopes'>>;

function spec(name: string, scopes: readonly Scope[], rest: Partial_ = {}): RouteSpec {
  const modelField = rest.modelField ?? 'none';
  return Object.freeze({
    name,
    scopes: Object.freeze([...scopes]),
    modelField,
    modelFields: Object.freeze([...(rest.modelFields ?? (modelField === 'body' ? MODEL_NAME_FIELDS : []))]),
    bodyKind: rest.bodyKind ?? 'none',
    filter: rest.filter ?? null,
    blocked: rest.blocked ?? false,
    checkInsecure: rest.checkInsecure ?? false,
    registryFields: Object.freeze([...(rest.registryFields ?? [])]),
    serverTools: rest.serverTools ?? false,
    createRefs: rest.createRefs ?? false,
    handler: rest.handler ?? 'upstream',
  });
}

const json = { bodyKind: 'json', modelField: 'body' } as const;

/** The fixed routes of docs/design.md §4 (method, path, spec). */
function exactRoutes(): Array<[string, string, RouteSpec]> {
  const out: Array<[string, string, RouteSpec]> = [];
  const add = (method: string, path: string, scopes: readonly Scope[], rest: Partial_ = {}): void => {
    out.push([method, path, spec(`${method} ${path}`, scopes, rest)]);
  };
  // inference
  for (const p of ['/api/generate', '/api/chat', '/api/embed', '/api/embeddings']) add('POST', p, ['inference'], json);
  for (const p of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/images/generations', '/v1/images/edits']) {
    add('POST', p, ['inference'], json);
  }
  for (const p of ['/v1/responses', '/v1/messages']) add('POST', p, ['inference'], { ...json, serverTools: true });
  // OpenAI's audio API: multipart/form-data with a `model` field (Ollama ≥ 0.20)
  add('POST', '/v1/audio/transcriptions', ['inference'], { bodyKind: 'form', modelField: 'body', modelFields: ['model'] });
  // models:read
  for (const m of ['GET', 'HEAD']) {
    add(m, '/', ['models:read']);
    add(m, '/api/version', ['models:read']);
    add(m, '/api/status', ['models:read']);
    add(m, '/api/tags', ['models:read'], { filter: 'tags' });
    add(m, '/api/ps', ['models:read'], { filter: 'ps' });
  }
  add('POST', '/api/show', ['models:read'], json);
  add('GET', '/v1/models', ['models:read'], { filter: 'v1models' });
  // models:manage
  // pull and push contact the registry named in the model; create pulls `from` when Ollama lacks it.
  add('POST', '/api/pull', ['models:manage'], { ...json, checkInsecure: true, registryFields: MODEL_NAME_FIELDS });
  add('POST', '/api/push', ['models:manage'], { ...json, checkInsecure: true, registryFields: MODEL_NAME_FIELDS });
  // `from` is the base model: without checking it a key limited to `mine-*` could copy any model.
  add('POST', '/api/create', ['models:manage'], { ...json, modelFields: ['model', 'name', 'from'], createRefs: true, registryFields: ['from'] });
  add('POST', '/api/copy', ['models:manage'], { ...json, modelFields: ['source', 'destination'] });
  add('DELETE', '/api/delete', ['models:manage'], json);
  // Warden's own
  add('GET', '/_warden/health', [], { handler: 'warden' });
  add('HEAD', '/_warden/health', [], { handler: 'warden' });
  add('GET', '/_warden/metrics', ['admin', 'metrics'], { handler: 'warden' });
  return out;
}

const V1_MODEL = spec('GET /v1/models/:model', ['models:read'], { modelField: 'path' });
const BLOB_HEAD = spec('HEAD /api/blobs/:digest', ['models:read']);
const BLOB_POST = spec('POST /api/blobs/:digest', ['models:manage'], { bodyKind: 'stream' });

const ACCOUNT_METHODS = new Set(['GET', 'HEAD', 'POST', 'DELETE']);
/** [prefix, scope]: the path is the prefix itself or continues with `/`. */
const ACCOUNT_PREFIXES: ReadonlyArray<readonly [string, Scope]> = [
  ['/api/me', 'admin'],
  ['/api/signout', 'admin'],
  ['/api/user/keys', 'admin'],
  ['/api/experimental', 'inference'],
  ['/debug', 'admin'],
];

function underPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

function fixed(s: RouteSpec): RouteMatch {
  return Object.freeze({ ...s, params: NO_PARAMS, invalid: null });
}

export function compileRoutes(policy: RoutePolicy): RouteTable {
  // Fixed routes are whole RouteMatch objects built here, so a hit allocates nothing.
  const exact = new Map<string, RouteMatch>();
  for (const [method, path, s] of exactRoutes()) exact.set(`${method} ${path}`, fixed(s));
  const blocked = !policy.allowAccountRoutes;
  const account = ACCOUNT_PREFIXES.map(
    ([prefix, scope]) => [prefix, fixed(spec(`${prefix}/*`, [scope], { blocked, bodyKind: 'stream' }))] as const,
  );

  return {
    lookup(method, path) {
      const hit = exact.get(`${method} ${path}`);
      if (hit) return hit;

      if (method === 'GET' && path.startsWith('/v1/models/')) {
        const model = path.slice('/v1/models/'.length);
        if (model === '' || model.includes('/')) return null;
        return { ...V1_MODEL, params: { model }, invalid: null };
      }
      if (path.startsWith('/api/blobs/')) {
        const digest = path.slice('/api/blobs/'.length);
        const s = method === 'HEAD' ? BLOB_HEAD : method === 'POST' ? BLOB_POST : null;
        // docs/design.md §4: only what Ollama's manifest.BlobsPath accepts, ^sha256[:-][0-9a-fA-F]{64}$ (→ 400 otherwise); anything else must never
        // reach Ollama's file-system code, where blob digests become file names.
        if (!s) return null;
        const invalid = DIGEST_RE.test(digest) ? null : 'blob digest must be sha256:<64 hex digits> (or sha256-<64 hex digits>)';
        return { ...s, params: { digest }, invalid };
      }
      if (ACCOUNT_METHODS.has(method)) {
        for (const [prefix, s] of account) if (underPrefix(path, prefix)) return s;
      }
      return null;
    },
  };
}
