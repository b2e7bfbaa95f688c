// One forwarded request's shared state (docs/design.md §5): what the steps of forward.ts — the
// upstream attempt, the answer relay, a failure before the answer, a stream cut — read and
// write. One object per request, so the steps are plain functions and no closure is built per
// step.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { BodyProgress } from './request-body.ts';
import type { ForwardOptions, ForwardResult } from './forward.ts';
import type { Upstream } from './upstreams.ts';

/** nginx's "client closed request": the audit status when the client left before any answer. */
export const CLIENT_CLOSED = 499;

export class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly opts: ForwardOptions;
  /** Headers added to every answer, Warden's errors included (X-Request-Id). */
  readonly extra: Record<string, string> | undefined;
  readonly result: ForwardResult;
  /** Aborted when the client leaves, the request is cancelled or the relay fails; reaches the
   *  upstream attempt whose answer is relayed. */
  readonly ac = new AbortController();
  clientGone = false;
  /** Why the caller cancelled the request (opts.signal's reason); undefined while it has not. */
  cancelReason: unknown = undefined;
  /** The answer's body is being copied to the client: a cancel then ends it with an error record. */
  pumping = false;
  /** How far a streamed upload got (request-body.ts). */
  readonly progress: BodyProgress = { bytes: 0, overCap: false, clientGone: false };
  requestBody: Buffer | Readable | undefined = undefined;
  /** A streamed upload's declared length, passed on to Ollama. */
  contentLength: number | undefined = undefined;
  /** The upstream tried now (after a failover, the second). */
  up: Upstream;
  /** performance.now() when the request went to `up`, and when its answer's first byte came. */
  sentAt = 0;
  firstByteAt = 0;

  constructor(req: IncomingMessage, res: ServerResponse, opts: ForwardOptions) {
    this.req = req;
    this.res = res;
    this.opts = opts;
    this.extra = opts.extraResponseHeaders;
    this.up = opts.upstream;
    this.result = { status: 0, bytesIn: 0, bytesOut: 0, promptTokens: null, evalTokens: null, aborted: false, upstream: opts.upstream };
  }

  /** res 'close': the client went away before the answer was complete. */
  readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    this.ac.abort();
  };

  /** opts.signal 'abort': the caller cut the request (a revoked key, shutdown). */
  readonly onCancel = (): void => {
    this.cancelReason = this.opts.signal?.reason ?? new Error('cancelled');
    this.ac.abort();
    // A running pump ends the stream with an error record once the upstream body errors; anything
    // else with the status line already out can only be cut.
    if (this.res.headersSent && !this.pumping) this.res.destroy();
  };

  /** An upload Ollama answered (or failed) before it was fully read: close the connection rather than read the rest. */
  uploadUnfinished(): boolean {
    return this.opts.body === 'stream' && !this.req.readableEnded;
  }

  /** Streamed upload: what was read from the client is what went to Ollama. */
  countStreamedBytes(): void {
    if (this.opts.body === 'stream') this.result.bytesIn = this.progress.bytes;
  }
}
