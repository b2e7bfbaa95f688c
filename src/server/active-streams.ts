// Streams in flight per key, so a revocation can cut them (docs/design.md §3: within a second) and shutdown
// can end them all with an error record.
import { ErrorCode, WardenError, type ErrorCodeValue } from '../errors.ts';

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

  /** Cuts every stream (shutdown, 503): each ends with an error record naming `reason`. */
  cutAll(reason: string): number {
    return this.cut([...this.byKey.keys()], reason, ErrorCode.SHUTTING_DOWN);
  }

  /** Cuts the keys' streams (a revocation: 401 with the invalid_token challenge if nothing was sent yet). */
  cut(keyIds: Iterable<string>, reason: string, code: ErrorCodeValue = ErrorCode.AUTH_INVALID_KEY): number {
    let n = 0;
    for (const id of keyIds) {
      for (const ac of this.byKey.get(id) ?? []) {
        ac.abort(new WardenError(code, reason));
        n++;
      }
    }
    return n;
  }
}
