// Body fields that make Ollama reach out on its own (docs/design.md §4): besides cloud models, Ollama
// v0.33 calls the internet for
//   - built-in server tools on /v1/messages and /v1/responses (`{"type":"web_search_20250305"}`,
//     `{"type":"web_search"}`): middleware runs ollama.com's web search signed with the owner's
//     key (anthropic.WebSearch, client.WebSearchExperimental);
//   - `remote_host` on /api/create: the new model is a local alias that forwards every chat to
//     that host (ollama.com or any other) — any inference key could then use it.
// Both are refused unless warden.yaml opts in (policy.allowServerTools, policy.allowRemoteModels).
//
// And, for item "every model reference": /api/create's `files`, `adapters` and `draft_files`
// name blobs by digest. A blob is not a model name a pattern can match, so a key limited to some
// models may not build from blobs at all (otherwise a `mine-*` key creates `mine-x` from the
// weights of any model on the server).
//
// Ollama decodes bodies with Go's encoding/json: keys match struct fields case-insensitively
// (with K/S folding), and a later duplicate wins. So every key is compared folded, and every
// value under a matching key is checked, not just the first.
import { ErrorCode, WardenError } from '../errors.ts';
import { goFoldKey, goTrimSpace } from './json-fold.ts';

export interface OutboundPolicy {
  allowServerTools: boolean;
  allowRemoteModels: boolean;
}

/** A 403 naming the setting that would allow it; `reason` for the audit log. */
function refuse(message: string, reason: string): WardenError {
  return new WardenError(ErrorCode.FORBIDDEN_POLICY, message, { reason });
}

/** Values of every key of `obj` that Go would decode into the field `name`. */
export function foldedValues(obj: unknown, name: string): unknown[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return [];
  const out: unknown[] = [];
  for (const [k, v] of Object.entries(obj)) if (goFoldKey(k) === name) out.push(v);
  return out;
}

/** The first built-in (server-side) tool type in a `tools` list, searched through nested
 *  `tools` (Responses namespaces) too; null when there is none. */
function serverToolIn(tools: unknown, depth = 0): string | null {
  if (!Array.isArray(tools) || depth > 8) return null;
  for (const tool of tools) {
    for (const type of foldedValues(tool, 'type')) {
      // Anthropic: strings.HasPrefix(strings.TrimSpace(type), "web_search"); Responses: type ==
      // "web_search". Anything `web_…` in any case is refused: over-refusing costs a 403.
      if (typeof type === 'string' && goTrimSpace(type).toLowerCase().startsWith('web_')) return type;
    }
    for (const nested of foldedValues(tool, 'tools')) {
      const hit = serverToolIn(nested, depth + 1);
      if (hit !== null) return hit;
    }
  }
  return null;
}

const show = (s: string): string => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

/** Built-in server tools (/v1/messages, /v1/responses). */
export function checkServerTools(body: unknown, policy: OutboundPolicy): WardenError | null {
  if (policy.allowServerTools) return null;
  for (const tools of foldedValues(body, 'tools')) {
    const type = serverToolIn(tools);
    if (type !== null) {
      return refuse(
        `server-side tool ${show(type)} is disabled on this server (policy.allowServerTools): it makes Ollama call ollama.com with the owner's account`,
        `server-side tool ${show(type)} refused by policy`,
      );
    }
  }
  return null;
}

const BLOB_FIELDS = ['files', 'adapters', 'draft_files'] as const;

/** /api/create: `remote_host`, and blob references for keys limited to some models. */
export function checkCreate(body: unknown, policy: OutboundPolicy, keyAllowsAllModels: boolean): WardenError | null {
  if (!policy.allowRemoteModels) {
    for (const v of foldedValues(body, 'remote_host')) {
      if (v !== null && v !== undefined && v !== '') {
        return refuse(
          'remote_host is disabled on this server (policy.allowRemoteModels): a remote model forwards every request to another server',
          'create with remote_host refused by policy',
        );
      }
    }
  }
  if (!keyAllowsAllModels) {
    for (const field of BLOB_FIELDS) {
      for (const v of foldedValues(body, field)) {
        if (v === null || v === undefined) continue;
        if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
        return refuse(
          `this key is limited to some models, so it may not create a model from blobs ("${field}"); use "from" with a model it may use`,
          `create from blobs ("${field}") refused for a key with model patterns`,
        );
      }
    }
  }
  return null;
}
