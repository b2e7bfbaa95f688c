// Refusals held back before they are answered (the tarpit): an address slowed down after repeated
// failures, a locked-out address past its burst (auth/lockout.ts), any failure past the
// server-wide burst (auth/flood-brake.ts). One place holds them all, so that:
// - shutdown does not wait out the pauses: `release()` lets every held refusal go at once (the
//   caller answers it and closes the connection) and nothing is held after it;
// - their number is bounded. Each connection has at most one held refusal (a request pipelined
//   behind it closes the connection, before-auth.ts), so open connections bound them already;
//   MAX_HELD bounds them besides, whatever the connection limits are set to. Past it a refusal is
//   not held: the caller closes the connection without an answer, which costs less than answering.
// A held refusal costs one timer and one small object; a client that leaves meanwhile frees them
// when its pause ends.

/** Refusals held at once, at most. ~100 bytes each; far above one burst of connections. */
export const MAX_HELD = 10_000;

/** waited: the pause is over. released: Warden is shutting down. full: not held (MAX_HELD). */
export type HoldOutcome = 'waited' | 'released' | 'full';

interface Held {
  timer: NodeJS.Timeout;
  resolve: (outcome: HoldOutcome) => void;
}

export class Tarpit {
  private readonly held = new Set<Held>();
  private closed = false;
  private readonly max: number;

  constructor(max = MAX_HELD) {
    this.max = max;
  }

  /** Resolves when the refusal may be answered (after `ms`, or at once when shutting down). */
  hold(ms: number): Promise<HoldOutcome> {
    if (this.closed) return Promise.resolve('released');
    if (this.held.size >= this.max) return Promise.resolve('full');
    return new Promise((resolve) => {
      const h: Held = {
        resolve,
        timer: setTimeout(() => {
          this.held.delete(h);
          resolve('waited');
        }, ms),
      };
      // the sockets keep the process alive while they are open; a pause alone must not
      h.timer.unref();
      this.held.add(h);
    });
  }

  /** Shutting down: every held refusal is let go now, and none is held from here on. */
  release(): void {
    this.closed = true;
    for (const h of this.held) {
      clearTimeout(h.timer);
      h.resolve('released');
    }
    this.held.clear();
  }

  get size(): number {
    return this.held.size;
  }
}
