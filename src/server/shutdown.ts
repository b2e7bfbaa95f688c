// Stopping the server (`close()`; `warden serve` calls it on SIGTERM/SIGINT): stop accepting,
// give open connections server.shutdownGraceSeconds to finish, cut the streams still running
// with a reason, then stop the parts in the reverse order they were started — the admin app
// first, the store last, the per-run token file after everything.
import type { Server as HttpsServer } from 'node:https';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import type { ConnectionTracker } from './connections.ts';
import type { ActiveStreams } from './active-streams.ts';

type Step = () => Promise<void>;

/** The clean-up steps of everything started so far, in the order they must run. */
export class Closers {
  private readonly steps: Step[];

  constructor(first: Step) {
    this.steps = [first];
  }

  /** A part that was just started: it stops before every part started earlier (it may use them). */
  add(step: Step): void {
    this.steps.unshift(step);
  }

  /** Runs after every other step (a file the local CLI reads while the server is up). */
  addLast(step: Step): void {
    this.steps.push(step);
  }

  /** Shutdown: every step runs even if one before it failed; failures are logged. */
  async run(log: Logger): Promise<void> {
    for (const step of this.steps) {
      try {
        await step();
      } catch (err) {
        log.error({ err }, 'error during shutdown');
      }
    }
  }

  /** A failed start-up undoes what it started; the start-up error is the one to report. */
  async runQuietly(): Promise<void> {
    for (const step of this.steps) await step().catch(() => undefined);
  }
}

/** Closes the listener and waits for its connections: until graceMs for them to finish on their
 *  own, then streams still running are ended with an error record saying why (forward.ts) and
 *  given a moment to leave before every connection is cut. */
export async function drainListener(server: HttpsServer | HttpServer, connections: ConnectionTracker, streams: ActiveStreams, graceMs: number): Promise<void> {
  server.close();
  server.closeIdleConnections();
  const deadline = Date.now() + graceMs;
  while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (streams.cutAll('Warden is shutting down') > 0) {
    const flushBy = Date.now() + 500;
    while (connections.size > 0 && Date.now() < flushBy) await new Promise((r) => setTimeout(r, 20));
  }
  server.closeAllConnections();
}
