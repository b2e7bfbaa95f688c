// What may this key do (docs/design.md §4)? One pure function over precompiled inputs: the route match
// from the route table, the key's scopes and compiled model matcher, the parsed JSON body.
// Checks run in a fixed order — policy-blocked route → scope → path parameters → body shape →
// credential in body → each named model (cloud, then pattern) → registry hosts → insecure
// registries → fields that make Ollama call out — and the first failure is the answer. Messages
// are safe for the client: they name the scope or model that is missing, never a key id or
// whether one exists; `reason` is for the audit log.
import { ErrorCode, WardenError, type ErrorCodeValue } from '../errors.ts';
import type { Config } from '../config/schema.ts';
import { modelsInBody, type ModelMatcher } from './models.ts';
import { parseModelName } from './model-name.ts';
import { checkCreate, checkServerTools } from './outbound.ts';
import { findCredentialInBody } from './body-credentials.ts';
import { checkRegistries } from './registries.ts';
import type { ListFilter, RouteMatch } from './routes.ts';

export interface AuthorizeKey {
  scopes: ReadonlySet<string> | readonly string[];
  models: ModelMatcher;
}

export type PolicyConfig = Config['policy'];

/** `model`: the first model named, as the client wrote it (for the audit log); `modelKey`: its
 *  canonical spelling (model-name.ts), for upstream routing. */
export type Authorized = { ok: true; model: string | null; modelKey: string | null };

/** Allowed, or the refusal (its status follows from its code, errors.ts). */
export type AuthorizeResult = Authorized | WardenError;

function refuse(code: ErrorCodeValue, message: string, reason = message): WardenError {
  return new WardenError(code, message, { reason });
}

function hasScope(held: ReadonlySet<string> | readonly string[], wanted: string): boolean {
  return held instanceof Set ? held.has(wanted) : (held as readonly string[]).includes(wanted);
}

const show = (s: string): string => JSON.stringify(s.length > 128 ? `${s.slice(0, 128)}…` : s);

/**
 * `key` null means unauthenticated; only routes with no scopes (/_warden/health) pass then.
 * `body`: the parsed JSON body for bodyKind 'json' routes (undefined when there was none).
 */
export function authorize(
  route: RouteMatch,
  key: AuthorizeKey | null,
  body: unknown,
  policy: PolicyConfig,
): AuthorizeResult {
  if (route.blocked) {
    return refuse(
      ErrorCode.FORBIDDEN_POLICY,
      'this route is disabled on this server (policy.allowAccountRoutes)',
      `account route ${route.name} blocked by policy`,
    );
  }
  if (route.scopes.length > 0) {
    if (!key) return refuse(ErrorCode.FORBIDDEN_SCOPE, 'credentials required', 'no key for a scoped route');
    if (!route.scopes.some((s) => hasScope(key.scopes, s))) {
      return refuse(
        ErrorCode.FORBIDDEN_SCOPE,
        `this key lacks the ${route.scopes.join(' or ')} scope`,
        `missing scope ${route.scopes.join('|')} for ${route.name}`,
      );
    }
  }
  if (route.invalid) return refuse(ErrorCode.BAD_REQUEST, route.invalid);

  let models: string[] = [];
  if (route.bodyKind === 'json') {
    if (body === undefined) return refuse(ErrorCode.BAD_REQUEST, 'a JSON request body is required');
    const where = findCredentialInBody(body);
    if (where) {
      return refuse(
        ErrorCode.AUTH_AMBIGUOUS,
        'credentials are not accepted in the request body; send them in the Authorization or X-API-Key header',
        `credential in body at ${where}`,
      );
    }
  }
  if (route.modelField === 'body') {
    const found = modelsInBody(route, body);
    if ('invalid' in found) return refuse(ErrorCode.BAD_REQUEST, found.invalid);
    if (found.models.length === 0) return refuse(ErrorCode.BAD_REQUEST, 'model is required');
    models = found.models;
  } else if (route.modelField === 'path') {
    const m = route.params.model;
    if (!m) return refuse(ErrorCode.BAD_REQUEST, 'model is required');
    models = [m];
  }

  let firstKey: string | null = null;
  for (const m of models) {
    // One reading of the name, Ollama's (model-name.ts); a name Ollama would read differently
    // (spaces it trims, characters it refuses) is refused here rather than guessed at.
    const name = parseModelName(m);
    if (!name.ok) {
      return refuse(ErrorCode.BAD_REQUEST, `model name ${show(m)} is not valid: ${name.reason}`, `invalid model name ${show(m)}: ${name.reason}`);
    }
    firstKey ??= name.key;
    if (name.cloud && !policy.allowAccountRoutes) {
      return refuse(
        ErrorCode.FORBIDDEN_POLICY,
        `cloud model ${show(m)} is disabled on this server (policy.allowAccountRoutes)`,
        `cloud model ${show(m)} blocked by policy`,
      );
    }
    if (key && !key.models.allowsKey(name.key)) {
      return refuse(
        ErrorCode.FORBIDDEN_MODEL,
        `this key may not use model ${show(m)}`,
        `model ${show(m)} not in the key's model patterns`,
      );
    }
  }

  const registry = checkRegistries(route.registryFields, body, policy.registries);
  if (registry) return registry;

  if (route.checkInsecure && !policy.allowInsecureRegistries && body && typeof body === 'object') {
    const insecure = (body as Record<string, unknown>).insecure;
    // Anything but absent/false is refused: plain-HTTP registries let a network attacker swap weights.
    if (insecure !== undefined && insecure !== false && insecure !== null) {
      return refuse(
        ErrorCode.FORBIDDEN_POLICY,
        'insecure registries are disabled on this server (policy.allowInsecureRegistries)',
        'insecure: true refused by policy',
      );
    }
  }

  const outbound =
    (route.serverTools ? checkServerTools(body, policy) : null) ??
    (route.createRefs ? checkCreate(body, policy, key?.models.allowsAll ?? false) : null);
  if (outbound) return outbound;

  return { ok: true, model: models[0] ?? null, modelKey: firstKey };
}

export interface FilterOptions {
  /** also hide ollama.com cloud models (when policy.allowAccountRoutes is false) */
  hideCloud?: boolean;
}

function visible(entry: unknown, field: 'name' | 'id', matcher: ModelMatcher, hideCloud: boolean): boolean {
  if (entry === null || typeof entry !== 'object') return false;
  const e = entry as Record<string, unknown>;
  const raw = e[field] ?? e.model;
  const name = parseModelName(raw);
  // An entry whose name we cannot read the way Ollama does is not shown to a filtered key.
  if (!name.ok) return false;
  if (hideCloud && (name.cloud || (typeof e.remote_host === 'string' && e.remote_host !== ''))) return false;
  return matcher.allowsKey(name.key);
}

/**
 * Filter a model list response to what the key may see (docs/design.md §4):
 * `tags` and `ps` → `{ models: [{ name, model, … }] }`, `v1models` → `{ object, data: [{ id, … }] }`.
 * Returns the input object itself when no entry is removed (the caller then relays Ollama's
 * bytes unchanged), else a new object; an unexpected shape yields an empty list (fail closed).
 */
export function filterModelList(kind: ListFilter, json: unknown, matcher: ModelMatcher, options: FilterOptions = {}): unknown {
  const hideCloud = options.hideCloud ?? false;
  const listField = kind === 'v1models' ? 'data' : 'models';
  const nameField = kind === 'v1models' ? 'id' : 'name';
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return kind === 'v1models' ? { object: 'list', data: [] } : { models: [] };
  }
  const obj = json as Record<string, unknown>;
  const list = obj[listField];
  if (!Array.isArray(list)) return { ...obj, [listField]: [] };
  if (matcher.allowsAll && !hideCloud) return obj;
  const kept = list.filter((e) => visible(e, nameField, matcher, hideCloud));
  return kept.length === list.length ? obj : { ...obj, [listField]: kept };
}
