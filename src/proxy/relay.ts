// Ollama's answer to the client (docs/design.md §5): a status Warden never relays (a redirect, a
// proxy-credentials prompt) becomes 502; a model list for a filtered key goes to
// filtered-answer.ts; everything else passes through as it comes — only Ollama's own headers
// (headers.ts), each chunk written as soon as it arrives with back-pressure (pump.ts), the
// tokens counted from the last line (token-counter.ts). A body broken on the way is
// stream-cut.ts's.
import type { Dispatcher } from 'undici';
import { ErrorCode, WardenError } from '../errors.ts';
import { sendError } from '../api-errors.ts';
import { downstreamHeaders, refusedUpstreamStatus } from './headers.ts';
import { pump } from './pump.ts';
import { TokenCounter, tokenFormatFor } from './token-counter.ts';
import { relayFiltered } from './filtered-answer.ts';
import { cutStream } from './stream-cut.ts';
import type { Exchange } from './exchange.ts';
import type { ForwardResult } from './forward.ts';

const DEFAULT_STALL_MS = 10 * 60 * 1000;

export async function relay(ex: Exchange, response: Dispatcher.ResponseData): Promise<ForwardResult> {
  const { res, opts, result } = ex;
  const { statusCode, headers, body } = response;
  result.status = statusCode;
  if (refusedUpstreamStatus(statusCode)) {
    // A redirect or a proxy-credentials prompt from "Ollama" is not Ollama's; never relay it.
    body.dump().catch(() => undefined);
    const e = new WardenError(ErrorCode.UPSTREAM_REFUSED_ANSWER, `upstream Ollama gave an answer Warden does not relay (HTTP ${statusCode})`);
    sendError(res, e, { headers: ex.extra, close: ex.uploadUnfinished() });
    return { ...result, status: 502, error: `upstream answered HTTP ${statusCode}, refused` };
  }
  const noBody = opts.method === 'HEAD' || statusCode === 204 || statusCode === 304 || statusCode < 200;
  if (opts.responseFilter && statusCode === 200) return relayFiltered(ex, response, noBody);
  const outHeaders = { ...downstreamHeaders(headers, false), ...ex.extra };
  if (ex.uploadUnfinished()) outHeaders.connection = 'close';
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
  const contentType = Array.isArray(ct) ? ct[0] : ct;
  const format = tokenFormatFor(contentType);
  const counter = format ? new TokenCounter(format) : null;
  let lastByte = 0x0a;
  ex.pumping = true;
  try {
    await pump(body, res, (chunk) => {
      if (headerTimer) {
        clearTimeout(headerTimer);
        headerTimer = null;
      }
      if (result.bytesOut === 0) {
        ex.firstByteAt = performance.now();
        result.firstByteMs = ex.firstByteAt - ex.sentAt;
      }
      result.bytesOut += chunk.length;
      lastByte = chunk[chunk.length - 1] ?? lastByte;
      counter?.push(chunk);
    }, opts.stallTimeoutMs ?? DEFAULT_STALL_MS);
  } catch (err) {
    if (headerTimer) clearTimeout(headerTimer);
    return cutStream(ex, err, contentType, lastByte === 0x0a);
  } finally {
    ex.pumping = false;
  }
  if (headerTimer) clearTimeout(headerTimer);
  if (counter) Object.assign(result, counter.finish());
  if (ex.firstByteAt > 0) result.streamMs = performance.now() - ex.firstByteAt;
  return result;
}
