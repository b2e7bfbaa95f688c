// Refusals held back before they are answered (the tarpit): an address slowed down after repeated
// failures, a locked-out address past its burst (auth/lockout.ts), any failure past the
// server-wide burst (auth/flood-brake.ts). One place holds them all, so that:
// - shutdown does not wait out the pauses: `release()` lets every held refusal go at once (the
//   caller answers it and closes the connection) and nothing is held after it;
// - a trusted reverse proxy keeps connections for its other clients. Its connections carry many
//   clients and count against one address's cap (limits.maxConnectionsPerAddress); a proxy
//   forwards each request on a free connection and opens a new one when all are busy, so held
//   refusals would fill its slots and then Warden would refuse the proxy's next connection, a
//   valid client's included. So at most `perProxy` refusals that came through one proxy are held
//   at once (half its cap); past that they are answered at once ('busy'). A client connecting
//   directly only fills its own slots, and all its refusals may be held;
// - their number is bounded. Each connection has at most one held refusal (a request pipelined
//   behind it closes the connection, before-auth.ts), so open connections bound them already;
//   MAX_HELD bounds them besides, whatever the connection limits are set to. Past it a refusal is
//   not held ('full'): the caller closes the connection without an answer, which costs less.
// A held refusal costs one timer and one small object; a client that leaves meanwhile frees them
// when its pause ends.
import type { Config } from '../config/schema.ts';

/** Refusals held at once, at most. ~100 bytes each; far above one burst of connections. */
export const MAX_HELD = 10_000;

/** waited: the pause is over. released: Warden is shutting down. busy: its proxy has as many
 *  held as it may, answer now. full: not held (MAX_HELD), close the connection. */
export type HoldOutcome = 'waited' | 'released' | 'busy' | 'full';

export interface TarpitOptions {
  /** refusals from one trusted proxy held at once, at most */
  perProxy: number;
  /** refusals held at once in all (default MAX_HELD) */
  max?: number;
}

interface Held {
  timer: NodeJS.Timeout;
  resolve: (outcome: HoldOutcome) => void;
}

export class Tarpit {
  private readonly held = new Set<Held>();
  /** trusted proxy address → refusals held that came through it */
  private readonly byProxy = new Map<string, number>();
  private closed = false;
  private readonly max: number;
  private readonly perProxy: number;

  constructor(options: TarpitOptions) {
    this.max = options.max ?? MAX_HELD;
    this.perProxy = options.perProxy;
  }

  /** Resolves when the refusal may be answered (after `ms`, or at once when shutting down).
   *  `proxy`: the trusted proxy the request came through, null for a direct client. */
  hold(ms: number, proxy: string | null): Promise<HoldOutcome> {
    if (this.closed) return Promise.resolve('released');
    if (this.held.size >= this.max) return Promise.resolve('full');
    const n = proxy === null ? 0 : (this.byProxy.get(proxy) ?? 0);
    if (proxy !== null && n >= this.perProxy) return Promise.resolve('busy');
    if (proxy !== null) this.byProxy.set(proxy, n + 1);
    return new Promise((resolve) => {
      const h: Held = {
        resolve: (outcome) => {
          this.held.delete(h);
          if (proxy !== null) {
            const left = (this.byProxy.get(proxy) ?? 1) - 1;
            if (left > 0) this.byProxy.set(proxy, left);
            else this.byProxy.delete(proxy);
          }
          resolve(outcome);
        },
        timer: setTimeout(() => h.resolve('waited'), ms),
      };
      // the sockets keep the process alive while they are open; a pause alone must not
      h.timer.unref();
      this.held.add(h);
    });
  }

  /** Shutting down: every held refusal is let go now, and none is held from here on. */
  release(): void {
    this.closed = true;
    for (const h of [...this.held]) {
      clearTimeout(h.timer);
      h.resolve('released');
    }
  }

  get size(): number {
    return this.held.size;
  }
}

/** The server's tarpit: a trusted proxy keeps at least half of its connection cap for other clients. */
export function tarpitFor(config: Config): Tarpit {
  return new Tarpit({ perProxy: Math.max(1, Math.floor(config.limits.maxConnectionsPerAddress / 2)) });
}
