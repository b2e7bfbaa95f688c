// No secret reaches the audit log, the store or the server log through an audit event.
// Clients put keys where they do not belong — `?api_key=owk_…`, `/owk_…` in the path, the
// admin sign-in URL, a refused CONNECT or Upgrade line — and every call site used to copy that
// text as it came. Redaction happens once, where every event is built (completeEvent), so no
// future call site can leak.
//
// What is removed: any `owk_…` token (the key format's fixed prefix; also percent-encoded, in
// any case), every query-string value (parameter names stay: they say what was tried), and any
// path segment that decodes to something holding `owk_`.

const KEY_TOKEN = /owk(?:_|%5f)[A-Za-z0-9_%.~-]*/gi;
const REDACTED_KEY = 'owk_[redacted]';
const REDACTED = '[redacted]';

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Free text (reason, model, …): key tokens replaced. */
export function redactText(s: string): string {
  if (!/owk/i.test(s)) return s;
  return s.replace(KEY_TOKEN, REDACTED_KEY);
}

/** A request target: query values dropped, segments holding a key replaced. */
export function redactPath(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  let out = path;
  if (/owk/i.test(path.includes('%') ? decode(decode(path)) : path)) {
    out = path
      .split('/')
      .map((seg) => (/owk/i.test(decode(decode(seg))) ? REDACTED : seg))
      .join('/');
  }
  if (q === -1) return out;
  const names = target
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=')[0] ?? '';
      return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? `${name}=${REDACTED}` : REDACTED;
    });
  return `${out}?${names.join('&')}`;
}
