// An answer whose status line is out, broken while its body was being copied (docs/design.md
// §5): why it ended (the client left or stopped reading, the caller cut it, Ollama went silent
// past limits.answerIdleSeconds or failed), recorded for the audit line; and how the client
// learns it. A stream Warden ends early closes with an error record in its own format
// (stream-error.ts), so a client sees why the answer is incomplete instead of a silent cut;
// anything else (a fixed-length answer, a client that left or stalled or cannot take more) is cut.
import { StallError } from './pump.ts';
import { streamErrorLine } from './stream-error.ts';
import { errorCode } from './upstream-error.ts';
import type { Exchange } from './exchange.ts';
import type { ForwardResult } from './forward.ts';

/** `contentType`: the answer's; `atLineStart`: its last byte so far ended a line. */
export function cutStream(ex: Exchange, err: unknown, contentType: string | undefined, atLineStart: boolean): ForwardResult {
  const { res, opts, result } = ex;
  ex.ac.abort();
  result.aborted = ex.clientGone || ex.cancelReason !== undefined || err instanceof StallError;
  // why the client's stream ends, when it is still there to be told
  let why: string | null = null;
  if (err instanceof StallError) result.error = 'client stopped reading';
  else if (ex.clientGone) result.error = 'client closed the connection';
  else if (ex.cancelReason !== undefined) {
    why = `stream cut by Warden: ${ex.cancelReason instanceof Error ? ex.cancelReason.message : String(ex.cancelReason)}`;
    result.error = why;
  } else if (errorCode(err) === 'UND_ERR_BODY_TIMEOUT' && opts.answerIdleMs) {
    why = `answer cut: Ollama sent nothing for ${opts.answerIdleMs / 1000} s (limits.answerIdleSeconds)`;
    result.error = why;
  } else {
    why = 'answer cut: upstream Ollama failed mid-answer';
    result.error = `upstream failed mid-answer: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!result.aborted) ex.up.errors++;
  const line = why !== null && !res.destroyed && !res.writableEnded && !res.writableNeedDrain ? streamErrorLine(contentType, why, atLineStart, opts.path) : null;
  if (line) {
    result.bytesOut += line.length;
    res.end(line);
  } else {
    res.destroy();
  }
  return result;
}
