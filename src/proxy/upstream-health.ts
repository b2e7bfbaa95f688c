// Health checks of the upstreams (several upstreams only, by default): every few seconds each is
// asked for its version (alive?) and which models are in memory (GET /api/ps), and less often for
// its model list (GET /api/tags). A failed probe also fails the requests still waiting for that
// upstream's response head, so forward() can send them elsewhere (a hung box).
import type { Client } from './undici-core.ts';
import { UpstreamDeadError } from './upstream-error.ts';
import { modelKey } from '../policy/model-name.ts';
import type { Upstream } from './upstream.ts';

export interface HealthCheckOptions {
  /** Timeout of one probe. */
  probeTimeoutMs: number;
  /** Model lists are fetched at most this often (and when an upstream comes back). */
  modelsIntervalMs: number;
}

export class HealthChecks {
  private readonly list: readonly Upstream[];
  private readonly o: HealthCheckOptions;
  private checking: Promise<void> | null = null;
  private lastModelsAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(list: readonly Upstream[], o: HealthCheckOptions) {
    this.list = list;
    this.o = o;
  }

  /** Checks now, then every intervalMs. */
  start(intervalMs: number): void {
    void this.checkAll(true);
    this.timer = setInterval(() => void this.checkAll(false), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One round over every upstream; a round already running is joined, not doubled. */
  checkAll(forceModels: boolean): Promise<void> {
    this.checking ??= this.round(forceModels).finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async round(forceModels: boolean): Promise<void> {
    const now = Date.now();
    const refresh = forceModels || now - this.lastModelsAt >= this.o.modelsIntervalMs;
    if (refresh) this.lastModelsAt = now;
    const timeoutMs = this.o.probeTimeoutMs;
    await Promise.all(
      this.list.map(async (up) => {
        const wasDown = up.reachable !== true;
        await checkVersion(up, timeoutMs);
        // a server that just came back may have a different model list
        if (up.reachable && (refresh || wasDown || up.models === null)) await refreshModels(up, timeoutMs);
        if (up.reachable) await refreshLoaded(up, timeoutMs);
      }),
    );
  }
}

async function getJson(client: Client, path: string, timeoutMs: number): Promise<unknown> {
  const { statusCode, body } = await client.request({ path, method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`GET ${path} answered ${statusCode}`);
  }
  return body.json();
}

async function checkVersion(up: Upstream, timeoutMs: number): Promise<void> {
  try {
    const v = (await getJson(up.probeClient, '/api/version', timeoutMs)) as { version?: unknown };
    up.version = typeof v.version === 'string' ? v.version : null;
    up.markReachable();
  } catch (err) {
    up.markUnreachable(err);
    up.failWaiting(new UpstreamDeadError(`upstream Ollama at ${up.url} failed its health check: ${up.lastError ?? 'no answer'}`));
  }
}

/** The model keys of an /api/tags or /api/ps answer. */
function modelKeys(answer: { models?: { name?: unknown; model?: unknown }[] }): Set<string> {
  const names = new Set<string>();
  for (const m of answer.models ?? []) {
    const key = modelKey(typeof m.model === 'string' ? m.model : m.name);
    if (key !== null) names.add(key);
  }
  return names;
}

async function refreshLoaded(up: Upstream, timeoutMs: number): Promise<void> {
  try {
    up.loaded = modelKeys((await getJson(up.probeClient, '/api/ps', timeoutMs)) as { models?: { name?: unknown; model?: unknown }[] });
  } catch {
    // keep what we knew: affinity is a preference, never a reason to fail
  }
}

async function refreshModels(up: Upstream, timeoutMs: number): Promise<void> {
  try {
    up.models = modelKeys((await getJson(up.probeClient, '/api/tags', timeoutMs)) as { models?: { name?: unknown; model?: unknown }[] });
  } catch {
    // keep the previous list: a slow /api/tags should not make routing forget every model
  }
}
