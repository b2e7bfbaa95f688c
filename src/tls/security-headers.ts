// Response headers every TLS response carries (docs/design.md §2: "HSTS header on every TLS response").
// The rest are what testssl's header check (and browsers visiting /_warden/) expect from an API
// server that never renders third-party content.
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  // RFC 6797. Two years; no `preload`: that is a decision for the domain's owner, not Warden.
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // API responses are JSON/NDJSON; the admin UI (served by Warden itself) may override this.
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});
