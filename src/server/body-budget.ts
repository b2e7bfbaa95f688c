// The memory all JSON request bodies being read or held at once may take (limits.bodyMemoryBytes).
// Each body is read whole before it is inspected and forwarded, so without a bound a handful of
// clients sending large bodies slowly would hold maxBodyBytes each, and RSS grows with the number
// of sockets rather than with the traffic served. A request whose body does not fit is answered
// 503 with Retry-After and its connection closed; the bytes are given back the moment the body is
// dropped (answered, refused, or its socket closed), never at a timer.
//
// A body with a Content-Length reserves all of it up front (refused before a byte is read); a
// chunked body reserves as its chunks arrive.

export interface BodyReservation {
  /** Reserve `n` more bytes; false (and nothing reserved) when the budget cannot hold them. */
  grow(n: number): boolean;
  /** Give every byte back. Idempotent: call it from a finally. */
  release(): void;
}

export interface BodyBudget {
  reserve(): BodyReservation;
  /** bytes reserved now (metrics, tests) */
  readonly inUse: number;
  readonly limit: number;
}

export function createBodyBudget(limit: number): BodyBudget {
  let inUse = 0;
  return {
    reserve() {
      let held = 0;
      let released = false;
      return {
        grow(n) {
          if (released || n <= 0) return !released;
          if (inUse + n > limit) return false;
          inUse += n;
          held += n;
          return true;
        },
        release() {
          if (released) return;
          released = true;
          inUse -= held;
          held = 0;
        },
      };
    },
    get inUse() {
      return inUse;
    },
    limit,
  };
}
