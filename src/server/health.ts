// GET /_warden/health: answered before anything else, the only route without credentials.
import type { ServerResponse } from 'node:http';
import type { GatewayDeps } from './gateway-deps.ts';
import { storeFreshness } from './store-freshness.ts';

export function isHealthCheck(url: string | undefined, method: string | undefined): boolean {
  return url === '/_warden/health' && (method === 'GET' || method === 'HEAD');
}

export function answerHealth(deps: GatewayDeps, maxStaleMs: number, res: ServerResponse): void {
  const store = storeFreshness(deps.keys, deps.storeHealth, maxStaleMs);
  // Healthy stays exactly {"status":"ok"} (load balancers and scripts match on it); a store
  // problem says what and since when: "degraded" while the cache is still trusted, then 503.
  // Several upstreams: how many answer their health checks — counts only, this
  // answer is public and upstream addresses are internal. None up: 503, so a load balancer
  // sends clients to an instance that can reach a box.
  const ups = deps.upstreams.list;
  const upCount = ups.length > 1 ? ups.reduce((n, u) => n + (u.reachable === false ? 0 : 1), 0) : 1;
  const upstreams = ups.length > 1 && upCount < ups.length ? { upstreams: { up: upCount, total: ups.length } } : {};
  if (!store.reachable) sendJson(res, store.refusing || upCount === 0 ? 503 : 200, { status: store.refusing ? 'store_unreachable' : 'degraded', store: store.view, ...upstreams });
  else if (upCount === 0) sendJson(res, 503, { status: 'no_upstream', ...upstreams });
  else if (upCount < ups.length && ups.length > 1) sendJson(res, 200, { status: 'degraded', ...upstreams });
  else sendJson(res, 200, { status: 'ok' });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}
