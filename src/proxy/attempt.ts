// One try of a forwarded request on one upstream, up to Ollama's response head (docs/design.md
// §5). Three things end the wait early: the request-wide abort (client gone, cancelled), the
// first-byte limit (opts.firstByteTimeoutMs: the upstream counts as hung, and another may be
// tried), and a failed health probe of the upstream while the request waits. The answer limits
// (limits.answerStartSeconds, limits.answerIdleSeconds) are undici's own per-request timeouts.
import type { Dispatcher } from 'undici';
import { upstreamHeaders } from './headers.ts';
import { FirstByteTimeoutError } from './upstream-error.ts';
import type { Exchange } from './exchange.ts';
import type { Upstream } from './upstreams.ts';

export type Attempt = { response: Dispatcher.ResponseData } | { error: unknown };

export async function attempt(ex: Exchange, target: Upstream): Promise<Attempt> {
  const { req, opts, ac } = ex;
  const tryAbort = new AbortController();
  let headFailure: Error | null = null;
  const failHead = (why: Error): void => {
    headFailure = why;
    tryAbort.abort(why);
  };
  // The request-wide abort (client gone, cancelled, relay failed) reaches the attempt whose
  // answer is relayed: the listener stays on after a response head, so it aborts the body too.
  const onOuterAbort = (): void => tryAbort.abort(ac.signal.reason);
  ac.signal.addEventListener('abort', onOuterAbort, { once: true });
  const unwatch = target.awaitHead(failHead);
  const firstByte = opts.firstByteTimeoutMs
    ? setTimeout(() => failHead(new FirstByteTimeoutError(`upstream Ollama at ${target.url} sent no answer within ${opts.firstByteTimeoutMs} ms`)), opts.firstByteTimeoutMs)
    : undefined;
  try {
    if (ex.cancelReason !== undefined) throw ex.cancelReason;
    if (ac.signal.aborted) throw new Error('client closed the connection');
    const response = await target.dispatcher.request({
      path: opts.path,
      // HEAD of a filtered list: ask for the list, so the answer's Content-Length is the
      // length of what this key would get from a GET (filtered-answer.ts sends no body).
      method: (opts.method === 'HEAD' && opts.responseFilter ? 'GET' : opts.method) as Dispatcher.HttpMethod,
      headers: upstreamHeaders(req.rawHeaders, req.headers, {
        upstreamHost: target.host,
        clientAddress: opts.clientAddress,
        proto: opts.proto,
        contentLength: ex.contentLength,
      }),
      body: ex.requestBody,
      signal: tryAbort.signal,
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
