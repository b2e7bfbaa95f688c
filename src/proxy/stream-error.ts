// The last line of a stream that broke after its status line was sent (docs/design.md §5). Headers are
// out, so no status can say "failed"; a silent cut looks like the end of the answer to clients
// that stop at EOF. Ollama's own mid-stream failures end with an error line in the stream's
// format, and clients already handle those: NDJSON `{"error":"…"}` (server/routes.go), and for
// the OpenAI-compatible SSE endpoints `data: {"error":{"message":…,"type":"api_error",…}}`
// (openai/openai.go). Other answers have a fixed length and are cut instead.

/** The error line for a stream of `contentType`, or null when the answer is not a stream we can extend. */
/** `atLineStart`: the bytes sent so far end with a newline. If not, the cut line is ended first
 *  (an empty line would be a JSON error of its own in Ollama's Go client, so none is added). */
/** `path`: Anthropic's /v1/messages streams take an `error` event in Anthropic's shape, which its
 *  SDK raises (it ignores events without a name). */
export function streamErrorLine(contentType: string | undefined, message: string, atLineStart: boolean, path = ''): Buffer | null {
  const ct = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  const lead = atLineStart ? '' : '\n';
  if (ct === 'application/x-ndjson') return Buffer.from(`${lead}${JSON.stringify({ error: message })}\n`);
  // SSE: a blank line ends (dispatches) whatever event was cut, then the error event follows
  if (ct === 'text/event-stream') {
    if (path.startsWith('/v1/messages')) {
      return Buffer.from(`${atLineStart ? '\n' : '\n\n'}event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message } })}\n\n`);
    }
    return Buffer.from(`${atLineStart ? '\n' : '\n\n'}data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code: null } })}\n\n`);
  }
  return null;
}
