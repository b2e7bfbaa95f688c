// Streams in flight per key, so a revocation can cut them (docs/design.md §3: within a second) and shutdown
// can end them all with an error record.
import { ErrorCode, WardenError } from '../errors.ts';

/** Streams in flight per key, so a revocation can cut them (docs/design.md §3: within a second). */
export class ActiveStreams {
  private readonly byKey = new Map<string, Set<AbortController>>();

  add(keyId: string, ac: AbortController): () => void {
    let set = this.byKey.get(keyId);
    if (!set) this.byKey.set(keyId, (set = new Set()));
    set.add(ac);
    return () => {
      set.delete(ac);
      if (set.size === 0 && this.byKey.get(keyId) === set) this.byKey.delete(keyId);
    };
  }

  /** Cuts every stream (shutdown): each ends with an error record naming `reason`. */
  cutAll(reason: string): number {
    return this.cut([...this.byKey.keys()], reason, 503);
  }

  cut(keyIds: Iterable<string>, reason: string, status = 401): number {
    let n = 0;
    for (const id of keyIds) {
      for (const ac of this.byKey.get(id) ?? []) {
        ac.abort(new WardenError(status === 401 ? ErrorCode.AUTH_INVALID_KEY : ErrorCode.SHUTTING_DOWN, reason, { status }));
        n++;
      }
    }
    return n;
  }
}
