// Which upstream a request goes to (several upstreams only). Among the healthy ones: one where the
// model is already loaded (loading a model into GPU memory takes seconds to minutes), then one
// that has it on disk, then any; least in flight within each tier, ties taken in turn so equal
// servers share the load.
import type { Upstream } from './upstream.ts';

export class UpstreamPicker {
  private readonly list: readonly Upstream[];
  private rotation = 0;

  constructor(list: readonly Upstream[]) {
    this.list = list;
  }

  pick(model: string | null): Upstream {
    const { list } = this;
    if (list.length === 1) return list[0] as Upstream;
    return this.best(list.filter((u) => u.reachable !== false), model) ?? this.leastLoaded(list) ?? (list[0] as Upstream);
  }

  pickOther(model: string | null, tried: readonly Upstream[]): Upstream | null {
    const others = this.list.filter((u) => u.reachable !== false && !tried.includes(u));
    if (model === null) return this.best(others, null) ?? null;
    // a model list not fetched yet is no evidence against the upstream
    return this.best(others.filter((u) => u.models === null || u.hasModel(model)), model) ?? null;
  }

  onlyOnUnhealthy(model: string): boolean {
    if (this.list.length === 1) return false;
    let onDown = false;
    for (const u of this.list) {
      if (!u.hasModel(model)) continue;
      if (u.reachable !== false) return false;
      onDown = true;
    }
    return onDown;
  }

  healthy(): Upstream[] {
    const up = this.list.filter((u) => u.reachable !== false);
    return up.length > 0 ? up : [...this.list];
  }

  /** Loaded first, then on disk, then any; least in-flight within the tier. */
  private best(candidates: Upstream[], model: string | null): Upstream | undefined {
    if (model !== null) {
      const loaded = this.leastLoaded(candidates.filter((u) => u.isLoaded(model)));
      if (loaded) return loaded;
      const onDisk = this.leastLoaded(candidates.filter((u) => u.hasModel(model)));
      if (onDisk) return onDisk;
    }
    return this.leastLoaded(candidates);
  }

  /** Least in-flight among `candidates`; ties go round-robin so equal servers share the load. */
  private leastLoaded(candidates: readonly Upstream[]): Upstream | undefined {
    let best: Upstream | undefined;
    const n = candidates.length;
    if (n === 0) return undefined;
    // advanced only when choosing among several, so each pick moves the rotation on by exactly one
    const start = n === 1 ? 0 : this.rotation++ % n;
    for (let i = 0; i < n; i++) {
      const c = candidates[(start + i) % n] as Upstream;
      if (best === undefined || c.inFlight < best.inFlight) best = c;
    }
    return best;
  }
}
