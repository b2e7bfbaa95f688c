// One model list for the whole fleet: with several upstreams, GET /api/tags, /api/ps
// and /v1/models ask every healthy upstream at once and answer the union, so a client (Open
// WebUI refreshing its model picker) sees the same list whichever box a round-robin would have
// picked. Entries are deduplicated by name and digest (the same model on two boxes is one entry;
// two different builds under one name stay two); /v1/models entries carry no digest and are
// deduplicated by id. The caller filters the union to what the key may see.
//
// With one upstream none of this runs: the list is relayed from Ollama as before.
import type { ListFilter } from '../policy/routes.ts';
import type { Upstream } from './upstreams.ts';
import { readLimited } from './pump.ts';
import { modelKey } from '../policy/model-name.ts';

const PATHS: Record<ListFilter, string> = { tags: '/api/tags', ps: '/api/ps', v1models: '/v1/models' };
/** Same cap as a single filtered list (forward.ts). */
const MAX_LIST_BYTES = 16 * 1024 * 1024;

export interface MergedList {
  /** The union, in Ollama's shape for `kind`. */
  json: unknown;
  /** Upstreams that answered (at least one, else the fetch throws). */
  answered: number;
}

async function fetchList(up: Upstream, path: string, timeoutMs: number): Promise<unknown> {
  const { statusCode, body } = await up.dispatcher.request({
    path,
    method: 'GET',
    headers: { host: up.host, accept: 'application/json', 'accept-encoding': 'identity' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`GET ${path} answered ${statusCode}`);
  }
  return JSON.parse((await readLimited(body, MAX_LIST_BYTES)).toString('utf8'));
}

function entries(json: unknown, field: string): unknown[] {
  if (json === null || typeof json !== 'object') return [];
  const list = (json as Record<string, unknown>)[field];
  return Array.isArray(list) ? list : [];
}

function identity(kind: ListFilter, e: unknown): string | null {
  if (e === null || typeof e !== 'object') return null;
  const o = e as Record<string, unknown>;
  if (kind === 'v1models') return typeof o.id === 'string' ? o.id : null;
  const name = typeof o.name === 'string' ? o.name : typeof o.model === 'string' ? o.model : null;
  if (name === null) return null;
  return `${modelKey(name) ?? name}\n${typeof o.digest === 'string' ? o.digest : ''}`;
}

/** Asks every upstream in `ups` for its list of `kind` and returns the union. Throws when none answered. */
export async function mergedModelList(ups: readonly Upstream[], kind: ListFilter, timeoutMs: number): Promise<MergedList> {
  const path = PATHS[kind];
  const results = await Promise.allSettled(ups.map((u) => fetchList(u, path, timeoutMs)));
  const field = kind === 'v1models' ? 'data' : 'models';
  const seen = new Set<string>();
  const merged: unknown[] = [];
  let answered = 0;
  let firstError: unknown;
  for (const r of results) {
    if (r.status === 'rejected') {
      firstError ??= r.reason;
      continue;
    }
    answered++;
    for (const e of entries(r.value, field)) {
      const id = identity(kind, e);
      if (id === null || seen.has(id)) continue;
      seen.add(id);
      merged.push(e);
    }
  }
  if (answered === 0) throw firstError instanceof Error ? firstError : new Error('no upstream answered');
  return { json: kind === 'v1models' ? { object: 'list', data: merged } : { models: merged }, answered };
}
