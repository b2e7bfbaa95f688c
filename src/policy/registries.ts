// Which registries a request may send Ollama to (policy.registries, docs/design.md §4).
//
// A model name carries its registry: `[host/][namespace/]model[:tag]`, host registry.ollama.ai
// unless written. Ollama (server/images.go PullModel/PushModel, download.go, upload.go) dials
// that host as written, `https://HOST/v2/…` (`http://` with `insecure`), signs the registry's
// token challenge with the owner's Ollama key, and for a push uploads the model's blobs. So a
// `models:manage` key naming `10.0.0.5:8080/ns/m`, `169.254.169.254/x/y` or `internal.corp/ns/m`
// makes the Ollama machine connect into its own network (server-side request forgery), and a
// push to a host of the client's choosing copies a local model out.
//
// Requests that make Ollama contact a registry, and the fields naming what it contacts:
//   - POST /api/pull: `model`, else `name` (both are checked: Ollama takes the first non-empty);
//   - POST /api/push: the same;
//   - POST /api/create: `from`, which Ollama pulls when it has no model of that name (model.go
//     parseFromModel). The new model's own `model`/`name` is only written locally.
// /api/copy, /api/show, /api/delete and inference read local manifests only. Cloud models reach
// ollama.com by another road (policy.allowAccountRoutes); `remote_host` is policy.allowRemoteModels.
//
// Hosts compare as Ollama treats them: case-insensitively (getExistingName, DisplayShortest use
// strings.EqualFold), port included and significant (`host` and `host:5000` are different
// servers; `host:443` is not `host` either — over-refusing costs a config line). The host comes
// from model-name.ts, the one reading of a name; a name it cannot read was refused before this.
// The list is validated and lower-cased when the config loads (config/schema.ts).
import { ANY_REGISTRY } from '../config/schema.ts';
import { ErrorCode, WardenError } from '../errors.ts';
import { parseModelName } from './model-name.ts';

/** `host` (model-name.ts ModelName.host) against policy.registries as loaded (lower case). */
export function registryAllowed(host: string, registries: readonly string[]): boolean {
  return registries.includes(host) || registries.includes(ANY_REGISTRY);
}


const show = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/**
 * The first model named in `fields` of `body` whose registry is not in `registries`; null when
 * all are allowed. Names that are not strings or that the parser refuses are answered (400) by
 * authorize() before this runs; here they are skipped, never guessed at.
 */
export function checkRegistries(fields: readonly string[], body: unknown, registries: readonly string[]): WardenError | null {
  if (fields.length === 0 || registries.includes(ANY_REGISTRY)) return null;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  for (const field of fields) {
    if (!Object.hasOwn(b, field)) continue;
    const name = parseModelName(b[field]);
    if (!name.ok || registryAllowed(name.host, registries)) continue;
    const allowed = registries.length === 0 ? 'no registry is allowed' : `allowed: ${registries.join(', ')}`;
    return new WardenError(
      ErrorCode.FORBIDDEN_POLICY,
      `registry ${show(name.host)} (in "${field}": ${show(name.raw)}) is not allowed on this server (policy.registries; ${allowed}): Ollama would connect to that host`,
      { reason: `registry ${show(name.host)} not in policy.registries` },
    );
  }
  return null;
}
