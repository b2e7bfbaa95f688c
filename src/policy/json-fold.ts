// How Go reads what Warden forwards, for the two places JavaScript differs (docs/design.md §4):
// encoding/json matches object keys to struct fields case-insensitively, and strings.TrimSpace
// strips Unicode White_Space, not JavaScript's trim() set (Go strips U+0085, JS strips U+FEFF).

/** Go's encoding/json key folding, for the ASCII field names Ollama uses: ASCII case, plus the
 *  two non-ASCII runes whose simple-fold orbit holds an ASCII letter (U+212A KELVIN SIGN → k,
 *  U+017F LONG S → s). */
export function goFoldKey(key: string): string {
  return key.replace(/\u212a/g, 'k').replace(/\u017f/g, 's').toLowerCase();
}

/** Go's unicode.IsSpace: what strings.TrimSpace strips. */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** strings.TrimSpace, exactly. */
export function goTrimSpace(s: string): string {
  return s.replace(GO_SPACE, '');
}
