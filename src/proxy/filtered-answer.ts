// A model list answered to a key that may see only some models (docs/design.md §4): Ollama's
// answer is buffered (up to opts.maxFilterBytes, default 16 MiB), filtered and sent with its own
// length. Fail closed: an answer that cannot be read or parsed is refused with 502, never passed
// on unfiltered.
import type { Dispatcher } from 'undici';
import { ErrorCode, WardenError } from '../errors.ts';
import { sendError } from '../api-errors.ts';
import { downstreamHeaders } from './headers.ts';
import { readLimited } from './pump.ts';
import { failBeforeAnswer } from './failure-before-answer.ts';
import type { Exchange } from './exchange.ts';
import type { ForwardResult } from './forward.ts';

const DEFAULT_FILTER_BYTES = 16 * 1024 * 1024;

/** Filtered model lists by filter key (opts.responseFilterKey): the raw answer they came from
 *  and the bytes sent. While Ollama's answer is byte-for-byte the same, the filtered bytes are
 *  reused instead of parsing, filtering and re-serialising /api/tags on every request. */
const filterCache = new Map<string, { raw: Buffer; out: Buffer }>();
const FILTER_CACHE_MAX = 256;

function rememberFiltered(key: string, raw: Buffer, out: Buffer): void {
  if (!filterCache.has(key) && filterCache.size >= FILTER_CACHE_MAX) filterCache.delete(filterCache.keys().next().value!);
  filterCache.set(key, { raw, out });
}

export async function relayFiltered(ex: Exchange, response: Dispatcher.ResponseData, noBody: boolean): Promise<ForwardResult> {
  const { res, opts, result } = ex;
  const { statusCode, headers, body } = response;
  const outHeaders = { ...downstreamHeaders(headers, true), ...ex.extra };
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
    if (ex.clientGone || ex.cancelReason !== undefined) return failBeforeAnswer(ex, err);
    const e = new WardenError(ErrorCode.UPSTREAM_UNREACHABLE, 'upstream Ollama sent an answer Warden could not filter', {
      cause: err,
      reason: `${ex.up.url}: answer could not be filtered`,
    });
    sendError(res, e, { headers: ex.extra });
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
