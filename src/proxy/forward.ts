// Forwards one authenticated, authorised request to Ollama and streams the answer back
// (docs/design.md §5). By the time a request gets here the listener has authenticated it, the policy has
// allowed it, and the caller has chosen the upstream and the canonical path (without `ts`).
// This file is the order of things; each step is its own file, as in Caddy's reverseproxy:
//   exchange.ts               the request's shared state: client gone, cancelled, the result
//   request-body.ts           the body to send (a streamed upload under its cap)
//   attempt.ts                one try on one upstream, up to the response head, with its limits
//   relay.ts                  the answer to the client (filtered-answer.ts for model lists)
//   stream-cut.ts             an answer broken after its status line
//   failure-before-answer.ts  no answer: what the client is told
//
// Streaming (pump.ts): each chunk from Ollama is written to the client as soon as it arrives, with
// back-pressure. A client that goes away aborts the upstream request at once — Ollama stops
// generating when its client leaves. Failures are answered in one place (upstream-error.ts);
// after the status line is out, a stream Warden cuts (revoked key, shutdown, Ollama lost, an
// answer limit) ends with an error record the client can show (stream-error.ts).
//
// Time limits on an answer (docs/clients.md "Time limits"): none by default, as Ollama has none —
// a big model on a modest GPU may think for many minutes before its first byte.
// limits.answerStartSeconds bounds the wait for Ollama's status line, limits.answerIdleSeconds a
// pause inside the answer; the client's socket has no idle timeout while the answer is pending.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UpstreamDeadError, isFailoverSafe } from './upstream-error.ts';
import { Exchange } from './exchange.ts';
import { openRequestBody } from './request-body.ts';
import { attempt } from './attempt.ts';
import { relay } from './relay.ts';
import { failBeforeAnswer } from './failure-before-answer.ts';
import type { Upstream } from './upstreams.ts';

export interface ForwardOptions {
  upstream: Upstream;
  /** Canonical path plus query, already stripped of Warden's `ts` parameter. */
  path: string;
  method: string;
  /** The body already read (and inspected) by the caller, none, or 'stream' to pipe `req` (blob uploads). */
  body: Buffer | null | 'stream';
  /** Cap for a streamed body; beyond it the upload is cut and the client gets 413. Default: no cap. */
  maxStreamBytes?: number;
  /** The client's address (X-Forwarded-For). */
  clientAddress: string;
  proto: 'https' | 'http';
  /** Rewrites a small JSON answer (model lists filtered to what the key may see). Applied to 200 answers only. */
  responseFilter?: (json: unknown) => unknown;
  /** Names what the filter does (e.g. the key's model patterns): while Ollama's raw answer is
   *  byte-for-byte the same, the filtered bytes for the same key are reused instead of parsing,
   *  filtering and re-serialising /api/tags on every request. */
  responseFilterKey?: string;
  /** Largest answer a responseFilter may buffer. Default 16 MiB; larger → 502 (never passed unfiltered). */
  maxFilterBytes?: number;
  /** Aborting it cuts the request (a revoked key). A WardenError reason is answered as such if nothing was sent yet. */
  signal?: AbortSignal;
  /** Added to every answer, Warden's errors included (e.g. X-Request-Id). */
  extraResponseHeaders?: Record<string, string>;
  /** A client that reads nothing for this long is cut off (slow read). Default 10 minutes. */
  stallTimeoutMs?: number;
  /** The model the request runs (routing affinity: a 200 from an upstream marks it loaded there). */
  model?: string | null;
  /** Only for requests safe to send twice (inference and reads with a buffered body, never
   *  pull/push/create/delete/copy): when the upstream refused or reset the connection, sent no
   *  response head in time, or failed its health probe while we waited, the request is sent once
   *  more to the upstream this returns (null: nowhere else to go). */
  failover?: (tried: readonly Upstream[]) => Upstream | null;
  /** Longest wait for the response head (model loading included); past it the upstream counts
   *  as hung. 0 or undefined = no limit. */
  firstByteTimeoutMs?: number;
  /** limits.answerStartSeconds in ms: longest wait for Ollama's status line. 0 or absent: no limit. */
  answerStartMs?: number;
  /** limits.answerIdleSeconds in ms: longest pause inside Ollama's answer. 0 or absent: no limit. */
  answerIdleMs?: number;
}

export interface ForwardResult {
  /** Status sent to the client; 499 when the client left before an answer began. */
  status: number;
  /** Request body bytes sent to Ollama. */
  bytesIn: number;
  /** Response body bytes written to the client. */
  bytesOut: number;
  promptTokens: number | null;
  evalTokens: number | null;
  /** The exchange was cut short: client gone, request cancelled, or client stopped reading. */
  aborted: boolean;
  /** Short machine-readable reason for the audit log when something went wrong. */
  error?: string;
  /** The upstream that answered (or failed last). */
  upstream: Upstream;
  /** Set when the first upstream failed before answering and the request went to another: its URL. */
  failedOver?: string;
  /** ms from sending (to the upstream that answered) to the first byte of its answer body. */
  firstByteMs?: number;
  /** ms from that first byte to the end of the answer. */
  streamMs?: number;
}

export async function forward(req: IncomingMessage, res: ServerResponse, opts: ForwardOptions): Promise<ForwardResult> {
  const ex = new Exchange(req, res, opts);
  if (!openRequestBody(ex)) return { ...ex.result, status: 413, error: 'body too large' };

  // The listener's idle timeout (limits.idleTimeoutSeconds) guards a client that stops sending;
  // once the request is in, the wait is for Ollama, and only the answer limits apply (a silent
  // socket while a model loads is not an idle client). Node sets the keep-alive timeout after.
  const socket = req.socket;
  const noIdleTimeout = (): void => void socket.setTimeout(0);
  if (req.readableEnded || opts.body !== 'stream') noIdleTimeout();
  else req.once('end', noIdleTimeout);

  res.on('close', ex.onClientClose);
  if (opts.signal?.aborted) ex.onCancel();
  else opts.signal?.addEventListener('abort', ex.onCancel, { once: true });
  const tried: Upstream[] = [];
  /** The upstream whose answer is being relayed (its in-flight count is released at the end). */
  let inFlightOn: Upstream | null = null;
  try {
    for (;;) {
      const up = ex.up;
      tried.push(up);
      up.begin();
      ex.sentAt = performance.now();
      const sent = await attempt(ex, up);
      ex.countStreamedBytes();
      if ('response' in sent) {
        inFlightOn = up;
        up.markReachable();
        if (opts.model && sent.response.statusCode === 200) up.markLoaded(opts.model);
        return await relay(ex, sent.response);
      }
      up.end();
      const err = sent.error;
      const next = tried.length === 1 && opts.failover && isFailoverSafe(err) && !ex.clientGone && ex.cancelReason === undefined ? opts.failover(tried) : null;
      if (!next) return failBeforeAnswer(ex, err);
      // Nothing of the answer was sent: the client cannot tell the difference, except in time.
      up.errors++;
      up.failovers++;
      if (!(err instanceof UpstreamDeadError)) up.markUnreachable(err);
      ex.result.failedOver = up.url;
      ex.up = next;
      ex.result.upstream = next;
    }
  } finally {
    inFlightOn?.end();
    req.off('end', noIdleTimeout);
    res.off('close', ex.onClientClose);
    opts.signal?.removeEventListener('abort', ex.onCancel);
  }
}
