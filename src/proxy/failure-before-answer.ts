// A forwarded request that got no answer from Ollama (docs/design.md §5): what the client is
// told, in order — the upload went over its cap (413), the client left (nothing to tell: 499 in
// the audit), the caller cancelled it (its WardenError, e.g. a revoked key's 401), Ollama did
// not start answering within limits.answerStartSeconds (504 naming the setting), or the
// upstream failed (upstream-error.ts: 502/504 without its address).
import { ErrorCode, WardenError, isWardenError } from '../errors.ts';
import { sendError } from '../api-errors.ts';
import { errorCode, isConnectError, upstreamError } from './upstream-error.ts';
import { CLIENT_CLOSED, type Exchange } from './exchange.ts';
import type { ForwardResult } from './forward.ts';

export function failBeforeAnswer(ex: Exchange, err: unknown): ForwardResult {
  const { res, opts, result, extra, up } = ex;
  if (ex.progress.overCap) {
    sendError(res, new WardenError(ErrorCode.BODY_TOO_LARGE, `request body exceeds ${opts.maxStreamBytes} bytes`), { headers: extra, close: true });
    return { ...result, status: 413, error: 'body too large' };
  }
  if (ex.clientGone || ex.progress.clientGone) {
    res.destroy();
    return { ...result, status: CLIENT_CLOSED, aborted: true, error: 'client closed the connection' };
  }
  if (ex.cancelReason !== undefined) {
    const wardenErr = isWardenError(ex.cancelReason) ? ex.cancelReason : null;
    if (wardenErr) sendError(res, wardenErr, { headers: extra });
    else res.destroy();
    return { ...result, status: wardenErr?.status ?? CLIENT_CLOSED, aborted: true, error: 'cancelled' };
  }
  if (isConnectError(err)) up.markUnreachable(err);
  if (errorCode(err) === 'UND_ERR_HEADERS_TIMEOUT' && opts.answerStartMs) {
    const why = `Ollama did not start answering within ${opts.answerStartMs / 1000} s (limits.answerStartSeconds)`;
    const e = new WardenError(ErrorCode.UPSTREAM_TIMEOUT, why, { reason: `answer cut: ${why}` });
    sendError(res, e, { headers: extra, close: ex.uploadUnfinished() });
    return { ...result, status: 504, error: e.reason };
  }
  const e = upstreamError(up.url, err);
  sendError(res, e, { headers: extra, close: ex.uploadUnfinished() });
  return { ...result, status: e.status, error: e.reason };
}
