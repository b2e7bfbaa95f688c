// One Ollama server Warden forwards to: its connection pool (and the one-connection client its
// health probes use, so a pool saturated by long generations does not make a busy upstream look
// dead), what Warden knows of its health and models, and the requests waiting on its answer.
import type { Client, Pool } from './undici-core.ts';
import { modelKey } from '../policy/model-name.ts';

export interface UpstreamStatus {
  url: string;
  /** null until the first probe or request says either way. */
  reachable: boolean | null;
  version: string | null;
  inFlight: number;
  /** Number of models seen in the last /api/tags, null if never fetched. */
  models: number | null;
  /** Models in memory (last /api/ps, plus what Warden itself just ran there). */
  loaded: string[];
  lastError: string | null;
}

export class Upstream {
  /** The configured URL without trailing slash, e.g. http://127.0.0.1:11434 — used in messages. */
  readonly url: string;
  /** host:port sent as Host to Ollama. */
  readonly host: string;
  readonly dispatcher: Pool;
  readonly probeClient: Client;
  reachable: boolean | null = null;
  version: string | null = null;
  models: Set<string> | null = null;
  /** Models in memory, normalised: from /api/ps, and marked by forward() after a model answered here. */
  loaded = new Set<string>();
  inFlight = 0;
  lastError: string | null = null;
  /** Counters for metrics: failed requests (no answer or cut), and requests moved off this upstream. */
  errors = 0;
  failovers = 0;
  /** Requests sent here that have no response head yet; called when a probe finds the upstream dead. */
  private readonly waiting = new Set<(why: Error) => void>();

  constructor(url: string, pool: Pool, probeClient: Client) {
    const u = new URL(url);
    this.url = u.origin;
    this.host = u.host || `${u.hostname}:${u.protocol === 'https:' ? 443 : 80}`;
    // URL drops a default port from .host; Ollama's Host check accepts either form.
    this.dispatcher = pool;
    this.probeClient = probeClient;
  }

  /** Called by forward() around each request: in-flight counts steer least-loaded routing. */
  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
  }

  /** Passive health: a failed connect marks the upstream down until the next good probe or request. */
  markUnreachable(err: unknown): void {
    this.reachable = false;
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  markReachable(): void {
    this.reachable = true;
    this.lastError = null;
  }

  hasModel(model: string): boolean {
    // The same reading of a name as the policy's (model-name.ts): `Llama3.2`, `llama3.2` and
    // `registry.ollama.ai/library/llama3.2:latest` are one model here too.
    const key = modelKey(model);
    return key !== null && (this.models?.has(key) ?? false);
  }

  isLoaded(model: string): boolean {
    const key = modelKey(model);
    return key !== null && this.loaded.has(key);
  }

  /** A model answered from here, so Ollama has it in memory now (until the next /api/ps says otherwise). */
  markLoaded(model: string): void {
    const n = modelKey(model);
    if (n === null) return;
    this.loaded.add(n);
    this.models?.add(n);
  }

  /** forward() registers a request until its response head arrives; the returned function unregisters it. */
  awaitHead(onDead: (why: Error) => void): () => void {
    this.waiting.add(onDead);
    return () => this.waiting.delete(onDead);
  }

  /** The health probe found this upstream dead or hung: fail every request still waiting on it. */
  failWaiting(why: Error): void {
    const all = [...this.waiting];
    this.waiting.clear();
    for (const f of all) f(why);
  }

  status(): UpstreamStatus {
    return {
      url: this.url,
      reachable: this.reachable,
      version: this.version,
      inFlight: this.inFlight,
      models: this.models?.size ?? null,
      loaded: [...this.loaded],
      lastError: this.lastError,
    };
  }
}
