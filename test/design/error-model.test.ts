// docs/design.md "Errors": one table code → status in src/errors.ts, a 401's challenge from its
// code, and no decision taken by reading an error's text.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, WardenError, configError, fieldError, statusOf, usageError } from '../../src/errors.ts';

const root = resolve(import.meta.dirname, '..', '..');

test('every code has one HTTP status, and a WardenError always answers with it', () => {
  for (const code of Object.values(ErrorCode)) {
    const status = statusOf(code);
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: got ${status}`);
    assert.equal(new WardenError(code, 'x').status, status, code);
    assert.equal(new WardenError(code, 'x', { headers: { 'retry-after': '1' }, reason: 'r', field: 'f' }).status, status, code);
  }
});

test('the statuses the wire contracts name (docs/design.md "Errors")', () => {
  const want: Array<[keyof typeof ErrorCode, number]> = [
    ['CONFIG_INVALID', 400],
    ['USAGE', 400],
    ['BAD_REQUEST', 400],
    ['UNSUPPORTED_MEDIA_TYPE', 415],
    ['REQUEST_TIMEOUT', 408],
    ['AUTH_MISSING', 401],
    ['AUTH_INVALID_KEY', 401],
    ['AUTH_MALFORMED', 400],
    ['AUTH_LOCKED_OUT', 429],
    ['FORBIDDEN_SCOPE', 403],
    ['ROUTE_NOT_FOUND', 404],
    ['BODY_TOO_LARGE', 413],
    ['HEADERS_TOO_LARGE', 431],
    ['UPSTREAM_UNREACHABLE', 502],
    ['UPSTREAM_TIMEOUT', 504],
    ['STORE_UNAVAILABLE', 503],
    ['DISK_FULL', 507],
    ['INTERNAL', 500],
  ];
  for (const [name, status] of want) assert.equal(statusOf(ErrorCode[name]), status, name);
});

test('config and usage errors are the caller\'s bad input (400) and carry their field', () => {
  const c = configError('tls.minVersion', 'must be TLSv1.2 or TLSv1.3');
  assert.equal(c.status, 400);
  assert.equal(c.field, 'tls.minVersion');
  const f = fieldError('rpm', 'must be a whole number');
  assert.equal(f.status, 400);
  assert.equal(f.field, 'rpm');
  assert.equal(usageError('bad').status, 400);
});

test('a 401 carries RFC 6750\'s challenge from its code: invalid_token only when a credential was sent', () => {
  assert.equal(new WardenError(ErrorCode.AUTH_MISSING, 'missing API key').headers['www-authenticate'], 'Bearer realm="warden"');
  const invalid = new WardenError(ErrorCode.AUTH_INVALID_KEY, 'key revoked', { headers: { 'retry-after': '1' } });
  assert.equal(invalid.headers['www-authenticate'], 'Bearer realm="warden", error="invalid_token"');
  assert.equal(invalid.headers['retry-after'], '1');
  assert.equal(new WardenError(ErrorCode.AUTH_MALFORMED, 'x').headers['www-authenticate'], undefined);
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('no code in src/ decides by an error\'s reason or message text, or parses a field out of it', () => {
  // A reason is audit text and a message is for people: both may be reworded at any time. The
  // field an error is about travels on the error (WardenError.field).
  const decides =
    /(?<!typeof [\w.?]*)\.(?:reason|message)\s*(?:===|!==)\s*['"`]|\.(?:reason|message)\.(?:startsWith|endsWith|includes|match)\(\s*['"`/]|\.exec\([\w.?]*\.(?:reason|message)\)/;
  const hits: string[] = [];
  for (const file of tsFiles(join(root, 'src'))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (decides.test(line)) hits.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(hits, []);
});
