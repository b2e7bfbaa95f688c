// Forwarding an admitted request: a fleet's model list merged from every healthy upstream, or
// the request sent to the upstream picked for its model (with failover where sending twice is
// safe), tracked so a revocation can cut it, its tokens charged and its audit line written
// before the answer's last bytes go out.
import type { CachedKey } from '../auth/key-cache.ts';
import type { ListFilter, RouteMatch } from '../policy/routes.ts';
import type { CanonicalTarget } from '../policy/path.ts';
import { filterModelList } from '../policy/authorize.ts';
import { forward } from '../proxy/forward.ts';
import { mergedModelList } from '../proxy/model-lists.ts';
import { upstreamError } from '../proxy/upstream-error.ts';
import type { Gateway } from './gateway-deps.ts';
import type { RequestContext } from './request-context.ts';
import { holdEnd } from './hold-end.ts';

/** Longest wait for each upstream's part of a merged model list. */
const LIST_TIMEOUT_MS = 5000;

/** Inference requests whose answer Ollama streams: its first byte comes with the first token, so
 *  a long wait for it means loading or a hung box — unlike a non-streamed answer, sent when done.
 *  Native routes stream unless `stream` is false; the OpenAI-style ones only when it is true. */
const STREAMING_ROUTES = new Set(['POST /api/generate', 'POST /api/chat']);
function isStreamed(routeName: string, json: unknown): boolean {
  if (json === null || typeof json !== 'object') return false;
  // Go matches JSON keys case-insensitively: `"Stream": false` is stream=false to Ollama
  let stream: unknown;
  for (const k in json) if (k.length === 6 && k.toLowerCase() === 'stream') stream = (json as Record<string, unknown>)[k];
  if (STREAMING_ROUTES.has(routeName)) return stream !== false;
  return routeName.startsWith('POST /v1/') && stream === true;
}

/** A model list for a fleet: the union of every healthy upstream's, filtered for the key. */
export async function serveModelList(g: Gateway, ctx: RequestContext, filterKind: ListFilter, key: CachedKey): Promise<void> {
  const { deps, config } = g;
  const { req, res } = ctx;
  const healthy = deps.upstreams.healthy();
  try {
    const merged = await mergedModelList(healthy, filterKind, LIST_TIMEOUT_MS);
    const visible = filterModelList(filterKind, merged.json, key.models, { hideCloud: !config.policy.allowAccountRoutes });
    const text = Buffer.from(JSON.stringify(visible));
    // The answer's end waits for its audit line, as a forwarded answer's does.
    const releaseEnd = holdEnd(res);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': text.length });
    if (req.method === 'HEAD') res.end();
    else res.end(text);
    ctx.finish(200, { bytesOut: req.method === 'HEAD' ? 0 : text.length });
    deps.audit.whenWritten(releaseEnd);
  } catch (err) {
    const e = upstreamError(healthy.map((u) => u.url).join(', '), err);
    return ctx.refuse(e);
  }
}

export async function forwardRequest(
  g: Gateway,
  ctx: RequestContext,
  route: RouteMatch,
  canon: CanonicalTarget,
  key: CachedKey,
  body: Buffer | null | 'stream',
  json: unknown,
  model: string | null,
  capNote: string | null,
): Promise<void> {
  const { deps, config } = g;
  const { req, res, event } = ctx;
  canon.query.delete('ts');
  const qs = canon.query.toString();
  const path = qs ? `${canon.path}?${qs}` : canon.path;
  const upstream = deps.upstreams.pick(model);
  // Sending twice is safe for inference and reads with a buffered body; never for
  // pull/push/create/delete/copy (models:manage) or streamed uploads.
  const retryable = Buffer.isBuffer(body) || body === null ? !route.scopes.includes('models:manage') : false;
  const ac = new AbortController();
  const untrack = g.streams.add(key.record.id, ac);
  const conn = deps.connections.get(req.socket);
  if (conn) conn.openStreams++;
  // The audit line goes out before the answer's last bytes do (released in finally).
  const releaseEnd = holdEnd(res);
  try {
    const filterKind = route.filter;
    const result = await forward(req, res, {
      upstream,
      method: req.method ?? 'GET',
      path,
      body,
      maxStreamBytes: config.limits.maxBlobBytes,
      clientAddress: event.clientAddress ?? '',
      proto: deps.proto,
      signal: ac.signal,
      // A client that reads nothing (slow read) holds a socket and an upstream slot for nobody.
      stallTimeoutMs: config.limits.slowReadSeconds * 1000,
      answerStartMs: config.limits.answerStartSeconds * 1000,
      answerIdleMs: config.limits.answerIdleSeconds * 1000,
      responseFilter: filterKind ? (data: unknown) => filterModelList(filterKind, data, key.models, { hideCloud: !config.policy.allowAccountRoutes }) : undefined,
      responseFilterKey: filterKind ? `${upstream.url}|${filterKind}|${key.record.models.join('\n')}` : undefined,
      model,
      failover: retryable ? (tried) => deps.upstreams.pickOther(model, tried) : undefined,
      // The first-byte limit exists to fail over from a hung upstream; with nowhere else to go it
      // would only cut a slow model load, and answers have no time limit unless
      // limits.answerStartSeconds sets one.
      firstByteTimeoutMs: retryable && deps.upstreams.list.length > 1 && isStreamed(route.name, json) ? g.firstByteMs : undefined,
    });
    const tokens = (result.promptTokens ?? 0) + (result.evalTokens ?? 0);
    if (tokens > 0) deps.limiter.chargeTokens(key.record.id, tokens);
    ctx.finish(result.status, {
      bytesIn: event.bytesIn || result.bytesIn,
      bytesOut: result.bytesOut,
      promptTokens: result.promptTokens,
      evalTokens: result.evalTokens,
      reason: result.error ?? (ac.signal.aborted ? 'stream cut: key revoked' : result.aborted ? 'client disconnected' : capNote),
    }, { firstByteMs: result.firstByteMs ?? null, streamMs: result.streamMs ?? null });
  } finally {
    // at the end of this event-loop turn, once its audit lines are appended (audit/writer.ts)
    deps.audit.whenWritten(releaseEnd);
    untrack();
    if (conn) conn.openStreams--;
  }
}
