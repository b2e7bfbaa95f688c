// Forwards one authenticated, authorised request to Ollama and streams the answer back
// (docs/design.md §5). By the time a request gets here the listener has authenticated it, the policy has
// allowed it, and the caller has chosen the upstream and the canonical path (without `ts`).
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
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import { sendError } from '../api-errors.ts';
import { downstreamHeaders, refusedUpstreamStatus, upstreamHeaders } from './headers.ts';
import { StallError, pump, readLimited } from './pump.ts';
import { cappedBody, type BodyProgress } from './request-body.ts';
import { TokenCounter, tokenFormatFor } from './token-counter.ts';
import { FirstByteTimeoutError, UpstreamDeadError, errorCode, isConnectError, isFailoverSafe as failoverSafe, upstreamError } from './upstream-error.ts';
import { streamErrorLine } from './stream-error.ts';
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

const DEFAULT_STALL_MS = 10 * 60 * 1000;

/** Filtered model lists by filter key: the raw answer they came from and the bytes sent. */
const filterCache = new Map<string, { raw: Buffer; out: Buffer }>();
const FILTER_CACHE_MAX = 256;

function rememberFiltered(key: string, raw: Buffer, out: Buffer): void {
  if (!filterCache.has(key) && filterCache.size >= FILTER_CACHE_MAX) filterCache.delete(filterCache.keys().next().value!);
  filterCache.set(key, { raw, out });
}
const DEFAULT_FILTER_BYTES = 16 * 1024 * 1024;
/** nginx's "client closed request": the audit status when the client left before any answer. */
const CLIENT_CLOSED = 499;

export async function forward(req: IncomingMessage, res: ServerResponse, opts: ForwardOptions): Promise<ForwardResult> {
  const extra = opts.extraResponseHeaders;
  const result: ForwardResult = { status: 0, bytesIn: 0, bytesOut: 0, promptTokens: null, evalTokens: null, aborted: false, upstream: opts.upstream };
  const ac = new AbortController();
  let clientGone = false;
  let cancelReason: unknown;

  const onClientClose = (): void => {
    if (res.writableFinished) return;
    clientGone = true;
    ac.abort();
  };
  const onCancel = (): void => {
    cancelReason = opts.signal?.reason ?? new Error('cancelled');
    ac.abort();
    // A running pump ends the stream with an error record once the upstream body errors; anything
    // else with the status line already out can only be cut.
    if (res.headersSent && !pumping) res.destroy();
  };
  let pumping = false;

  // A streamed upload with a declared length over the cap is refused before Ollama sees a byte.
  const progress: BodyProgress = { bytes: 0, overCap: false, clientGone: false };
  let requestBody: Buffer | Readable | undefined;
  let contentLength: number | undefined;
  if (opts.body === 'stream') {
    const max = opts.maxStreamBytes ?? Number.POSITIVE_INFINITY;
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      contentLength = Number(declared);
      if (!(contentLength <= max)) {
        const err = new WardenError(ErrorCode.BODY_TOO_LARGE, `request body exceeds ${max} bytes`);
        sendError(res, err, { headers: extra, close: true });
        return { ...result, status: 413, error: 'body too large' };
      }
    }
    // Readable.from pulls the next chunk only when undici asks: back-pressure reaches the client
    requestBody = Readable.from(cappedBody(req, max, progress), { objectMode: false });
  } else if (opts.body !== null) {
    requestBody = opts.body;
    result.bytesIn = opts.body.length;
  }

  // The listener's idle timeout (limits.idleTimeoutSeconds) guards a client that stops sending;
  // once the request is in, the wait is for Ollama, and only the answer limits apply (a silent
  // socket while a model loads is not an idle client). Node sets the keep-alive timeout after.
  const socket = req.socket;
  const noIdleTimeout = (): void => void socket.setTimeout(0);
  if (req.readableEnded || opts.body !== 'stream') noIdleTimeout();
  else req.once('end', noIdleTimeout);

  res.on('close', onClientClose);
  if (opts.signal?.aborted) onCancel();
  else opts.signal?.addEventListener('abort', onCancel, { once: true });
  let up = opts.upstream;
  const tried: Upstream[] = [];
  /** The upstream whose answer is being relayed (its in-flight count is released at the end). */
  let inFlightOn: Upstream | null = null;
  let sentAt = 0;
  let firstByteAt = 0;
  try {
    for (;;) {
      tried.push(up);
      up.begin();
      sentAt = performance.now();
      const sent = await send(up);
      if ('error' in sent) up.end();
      else inFlightOn = up;
      if ('response' in sent) {
        if (opts.body === 'stream') result.bytesIn = progress.bytes;
        up.markReachable();
        if (opts.model && sent.response.statusCode === 200) up.markLoaded(opts.model);
        return await relay(sent.response);
      }
      const err = sent.error;
      if (opts.body === 'stream') result.bytesIn = progress.bytes;
      const next = tried.length === 1 && opts.failover && failoverSafe(err) && !clientGone && cancelReason === undefined ? opts.failover(tried) : null;
      if (next) {
        // Nothing of the answer was sent: the client cannot tell the difference, except in time.
        up.errors++;
        up.failovers++;
        if (!(err instanceof UpstreamDeadError)) up.markUnreachable(err);
        result.failedOver = up.url;
        up = next;
        result.upstream = up;
        continue;
      }
      return failBeforeAnswer(err);
    }
  } finally {
    inFlightOn?.end();
    req.off('end', noIdleTimeout);
    res.off('close', onClientClose);
    opts.signal?.removeEventListener('abort', onCancel);
  }

  /** One try on one upstream, up to the response head. The request-wide abort (client gone,
   *  cancelled) reaches it; so do the first-byte limit and a failed health probe. */
  async function send(target: Upstream): Promise<{ response: Dispatcher.ResponseData } | { error: unknown }> {
    const attempt = new AbortController();
    let headFailure: Error | null = null;
    const failHead = (why: Error): void => {
      headFailure = why;
      attempt.abort(why);
    };
    // the request-wide abort (client gone, cancelled, relay failed) reaches the attempt whose answer is relayed
    const onOuterAbort = (): void => attempt.abort(ac.signal.reason);
    ac.signal.addEventListener('abort', onOuterAbort, { once: true });
    const unwatch = target.awaitHead(failHead);
    const firstByte = opts.firstByteTimeoutMs
      ? setTimeout(() => failHead(new FirstByteTimeoutError(`upstream Ollama at ${target.url} sent no answer within ${opts.firstByteTimeoutMs} ms`)), opts.firstByteTimeoutMs)
      : undefined;
    try {
      if (cancelReason !== undefined) throw cancelReason;
      if (ac.signal.aborted) throw new Error('client closed the connection');
      const response = await target.dispatcher.request({
        path: opts.path,
        // HEAD of a filtered list: ask for the list, so the answer's Content-Length is the
        // length of what this key would get from a GET (relayFiltered sends no body).
        method: (opts.method === 'HEAD' && opts.responseFilter ? 'GET' : opts.method) as Dispatcher.HttpMethod,
        headers: upstreamHeaders(req.rawHeaders, req.headers, {
          upstreamHost: target.host,
          clientAddress: opts.clientAddress,
          proto: opts.proto,
          contentLength,
        }),
        body: requestBody,
        signal: attempt.signal,
        headersTimeout: opts.answerStartMs ?? 0,
        bodyTimeout: opts.answerIdleMs ?? 0,
      });
      return { response };
    } catch (err) {
      ac.signal.removeEventListener('abort', onOuterAbort);
      return { error: headFailure ?? err };
    } finally {
      clearTimeout(firstByte);
      unwatch();
    }
  }

  /** An upload Ollama answered (or failed) before it was fully read: close the connection rather than read the rest. */
  function uploadUnfinished(): boolean {
    return opts.body === 'stream' && !req.readableEnded;
  }

  function failBeforeAnswer(err: unknown): ForwardResult {
    if (progress.overCap) {
      sendError(res, new WardenError(ErrorCode.BODY_TOO_LARGE, `request body exceeds ${opts.maxStreamBytes} bytes`), { headers: extra, close: true });
      return { ...result, status: 413, error: 'body too large' };
    }
    if (clientGone || progress.clientGone) {
      res.destroy();
      return { ...result, status: CLIENT_CLOSED, aborted: true, error: 'client closed the connection' };
    }
    if (cancelReason !== undefined) {
      const wardenErr = isWardenError(cancelReason) ? cancelReason : null;
      if (wardenErr) sendError(res, wardenErr, { headers: extra });
      else res.destroy();
      return { ...result, status: wardenErr?.status ?? CLIENT_CLOSED, aborted: true, error: 'cancelled' };
    }
    if (isConnectError(err)) up.markUnreachable(err);
    if (errorCode(err) === 'UND_ERR_HEADERS_TIMEOUT' && opts.answerStartMs) {
      const why = `Ollama did not start answering within ${opts.answerStartMs / 1000} s (limits.answerStartSeconds)`;
      const e = new WardenError(ErrorCode.UPSTREAM_TIMEOUT, why, { reason: `answer cut: ${why}` });
      sendError(res, e, { headers: extra, close: uploadUnfinished() });
      return { ...result, status: 504, error: e.reason };
    }
    const e = upstreamError(up.url, err);
    sendError(res, e, { headers: extra, close: uploadUnfinished() });
    return { ...result, status: e.status, error: e.reason };
  }

  async function relay(response: Dispatcher.ResponseData): Promise<ForwardResult> {
    const { statusCode, headers, body } = response;
    result.status = statusCode;
    if (refusedUpstreamStatus(statusCode)) {
      // A redirect or a proxy-credentials prompt from "Ollama" is not Ollama's; never relay it.
      body.dump().catch(() => undefined);
      const e = new WardenError(ErrorCode.UPSTREAM_REFUSED_ANSWER, `upstream Ollama gave an answer Warden does not relay (HTTP ${statusCode})`);
      sendError(res, e, { headers: extra, close: uploadUnfinished() });
      return { ...result, status: 502, error: `upstream answered HTTP ${statusCode}, refused` };
    }
    const noBody = opts.method === 'HEAD' || statusCode === 204 || statusCode === 304 || statusCode < 200;
    if (opts.responseFilter && statusCode === 200) return relayFiltered(response, noBody);
    const outHeaders = { ...downstreamHeaders(headers, false), ...extra };
    if (uploadUnfinished()) outHeaders.connection = 'close';
    res.writeHead(statusCode, outHeaders);
    if (noBody) {
      await body.dump();
      res.end();
      return result;
    }
    // A stream's client sees the status within 15 ms even if Ollama takes a while to produce the
    // first token; when the first chunk comes sooner, headers and chunk leave in one TLS record
    // (a separate header write was ~9 % of a 50-line stream's CPU).
    let headerTimer: NodeJS.Timeout | null = null;
    if (headers['content-length'] === undefined) {
      headerTimer = setTimeout(() => {
        headerTimer = null;
        if (!res.destroyed) res.flushHeaders();
      }, 15);
    }
    const ct = headers['content-type'];
    const format = tokenFormatFor(Array.isArray(ct) ? ct[0] : ct);
    const counter = format ? new TokenCounter(format) : null;
    let lastByte = 0x0a;
    pumping = true;
    try {
      await pump(body, res, (chunk) => {
        if (headerTimer) {
          clearTimeout(headerTimer);
          headerTimer = null;
        }
        if (result.bytesOut === 0) {
          firstByteAt = performance.now();
          result.firstByteMs = firstByteAt - sentAt;
        }
        result.bytesOut += chunk.length;
        lastByte = chunk[chunk.length - 1] ?? lastByte;
        counter?.push(chunk);
      }, opts.stallTimeoutMs ?? DEFAULT_STALL_MS);
    } catch (err) {
      if (headerTimer) clearTimeout(headerTimer);
      ac.abort();
      result.aborted = clientGone || cancelReason !== undefined || err instanceof StallError;
      // why the client's stream ends, when it is still there to be told
      let why: string | null = null;
      if (err instanceof StallError) result.error = 'client stopped reading';
      else if (clientGone) result.error = 'client closed the connection';
      else if (cancelReason !== undefined) {
        why = `stream cut by Warden: ${cancelReason instanceof Error ? cancelReason.message : String(cancelReason)}`;
        result.error = why;
      } else if (errorCode(err) === 'UND_ERR_BODY_TIMEOUT' && opts.answerIdleMs) {
        why = `answer cut: Ollama sent nothing for ${opts.answerIdleMs / 1000} s (limits.answerIdleSeconds)`;
        result.error = why;
      } else {
        why = 'answer cut: upstream Ollama failed mid-answer';
        result.error = `upstream failed mid-answer: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (!result.aborted) up.errors++;
      // Headers are out. A stream Warden ends early closes with an error record in its own
      // format, so a client sees why the answer is incomplete instead of a silent cut; anything
      // else (a fixed-length answer, a client that left or stalled or cannot take more) is cut.
      const line = why !== null && !res.destroyed && !res.writableEnded && !res.writableNeedDrain ? streamErrorLine(Array.isArray(ct) ? ct[0] : ct, why, lastByte === 0x0a, opts.path) : null;
      if (line) {
        result.bytesOut += line.length;
        res.end(line);
      } else {
        res.destroy();
      }
      return result;
    } finally {
      pumping = false;
    }
    if (headerTimer) clearTimeout(headerTimer);
    if (counter) Object.assign(result, counter.finish());
    if (firstByteAt > 0) result.streamMs = performance.now() - firstByteAt;
    return result;
  }

  async function relayFiltered(response: Dispatcher.ResponseData, noBody: boolean): Promise<ForwardResult> {
    const { statusCode, headers, body } = response;
    const outHeaders = { ...downstreamHeaders(headers, true), ...extra };
    const head = opts.method === 'HEAD';
    if (noBody && !head) {
      await body.dump();
      res.writeHead(statusCode, outHeaders);
      res.end();
      return result;
    }
    let out: Buffer;
    let unchanged: boolean;
    try {
      const raw = await readLimited(body, opts.maxFilterBytes ?? DEFAULT_FILTER_BYTES);
      const filter = opts.responseFilter as (json: unknown) => unknown;
      const cached = opts.responseFilterKey === undefined ? undefined : filterCache.get(opts.responseFilterKey);
      if (cached && cached.raw.equals(raw)) {
        out = cached.out;
        unchanged = cached.out === cached.raw;
      } else {
        const parsed: unknown = JSON.parse(raw.toString('utf8'));
        const filtered = filter(parsed);
        // Nothing removed (the filter hands back its input): Ollama's own bytes go out, with
        // Go's `\u003c` escapes and key order, not a re-serialisation.
        unchanged = filtered === parsed;
        out = unchanged ? raw : Buffer.from(JSON.stringify(filtered));
        if (opts.responseFilterKey !== undefined) rememberFiltered(opts.responseFilterKey, raw, out);
      }
    } catch (err) {
      // fail closed: an answer that cannot be filtered is not passed on unfiltered
      if (clientGone || cancelReason !== undefined) return failBeforeAnswer(err);
      const e = new WardenError(ErrorCode.UPSTREAM_UNREACHABLE, 'upstream Ollama sent an answer Warden could not filter', {
        cause: err,
        reason: `${up.url}: answer could not be filtered`,
      });
      sendError(res, e, { headers: extra });
      return { ...result, status: 502, error: `filter failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    const type = unchanged ? {} : { 'content-type': 'application/json; charset=utf-8' };
    res.writeHead(statusCode, { ...outHeaders, ...type, 'content-length': out.length });
    if (head) {
      res.end();
      return result;
    }
    res.end(out);
    result.bytesOut = out.length;
    return result;
  }
}
