// The shape of Warden's own error answers, per API family, so each client library shows the
// message (an SDK that expects `error.message` prints "undefined" for Ollama's plain shape):
//   - Ollama's API:         {"error": "message"}
//   - OpenAI's (/v1/*):     {"error": {"message", "type", "param": null, "code"}}
//   - Anthropic's (/v1/messages): {"type": "error", "error": {"type", "message"}}
// Types follow Ollama's own openai.NewError / anthropic.NewError (v0.33), which follow the APIs.
// Ollama's answers are never reshaped: this is only for what Warden itself says.

function errorType(status: number): string {
  switch (status) {
    case 400:
    case 413:
    case 431:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

/** The JSON body of an error answer for a request to `url` (the request target as received). */
export function errorBody(url: string | undefined, status: number, message: string, code?: string): unknown {
  const path = (url ?? '').split('?')[0] ?? '';
  if (path === '/v1/messages' || path.startsWith('/v1/messages/')) return { type: 'error', error: { type: errorType(status), message } };
  if (path.startsWith('/v1/')) return { error: { message, type: errorType(status), param: null, code: code ?? null } };
  return { error: message };
}
