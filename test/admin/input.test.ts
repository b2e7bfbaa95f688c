// The admin API's input readers (src/admin/input.ts): each value sent as JSON or from a form,
// accepted as its typed value or refused with a 400 that names the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import {
  intInRange,
  objectBody,
  onlyFields,
  optCaps,
  optLimit,
  optString,
  optStringList,
  parseExpires,
  parseTimeFilter,
  requiredString,
} from '../../src/admin/input.ts';

const NOW = new Date('2026-06-01T00:00:00Z');

/** A 400 whose message starts with the field's name. */
function refusedFor(field: string): (e: unknown) => boolean {
  return (e) => {
    const err = e as { status?: number; code?: string; message?: string; field?: string };
    assert.equal(err.status, 400);
    assert.equal(err.field, field, 'the field travels on the error, not parsed out of the message');
    assert.equal(err.code, ErrorCode.USAGE);
    assert.ok(err.message?.startsWith(`${field}: `), err.message);
    return true;
  };
}

test('expires: a duration from now, a future date, or never', () => {
  assert.deepEqual(parseExpires('30d', NOW), new Date(NOW.getTime() + 30 * 86400_000));
  assert.deepEqual(parseExpires('2027-01-31', NOW), new Date('2027-01-31'));
  assert.deepEqual(parseExpires('2027-01-31T12:00:00+02:00', NOW), new Date('2027-01-31T10:00:00Z'));
  for (const never of [null, undefined, '']) assert.equal(parseExpires(never, NOW), null);
});

test('expires: a past date, a bare number, text and a date past year 9999 are refused naming expires', () => {
  for (const bad of ['2020-01-01', '30', 'next tuesday', '99999-01-01', 30, {}]) {
    assert.throws(() => parseExpires(bad, NOW), refusedFor('expires'), JSON.stringify(bad));
  }
});

test('a string list: from JSON or a comma/newline separated form field, trimmed, empties dropped', () => {
  assert.deepEqual(optStringList('models', ' llama3.*, qwen2.5\nphi3 ,,'), ['llama3.*', 'qwen2.5', 'phi3']);
  assert.deepEqual(optStringList('models', [' a ', '', 'b']), ['a', 'b']);
  assert.deepEqual(optStringList('models', null), []);
  assert.equal(optStringList('models', undefined), undefined);
  assert.throws(() => optStringList('models', ['a', 1]), refusedFor('models'));
});

test('a limit: number or numeric text as is (the key service checks the range), null or "" = unlimited', () => {
  assert.equal(optLimit('rpm', 60), 60);
  assert.equal(optLimit('rpm', ' 60 '), 60);
  assert.equal(optLimit('rpm', '-1'), -1);
  assert.equal(optLimit('rpm', ''), null);
  assert.equal(optLimit('rpm', null), null);
  assert.equal(optLimit('rpm', undefined), undefined);
  assert.throws(() => optLimit('rpm', 'sixty'), refusedFor('rpm'));
});

test('caps: each optional, null clears all, keepAlive as seconds or a duration; errors name the CLI flag', () => {
  assert.deepEqual(optCaps(undefined), {});
  assert.deepEqual(optCaps(null), { capNumCtx: null, capNumPredict: null, capKeepAlive: null });
  assert.deepEqual(optCaps({ numCtx: 8192, keepAlive: '30m' }), { capNumCtx: 8192, capKeepAlive: 1800 });
  assert.deepEqual(optCaps({ numPredict: '', keepAlive: 600 }), { capNumPredict: null, capKeepAlive: 600 });
  assert.throws(() => optCaps({ keepAlive: 'forever' }), refusedFor('max-keep-alive'));
  assert.throws(() => optCaps({ numCtx: 'big' }), refusedFor('max-ctx'));
  assert.throws(() => optCaps({ temperature: 1 }), refusedFor('caps.temperature'));
  assert.throws(() => optCaps([8192]), refusedFor('caps'));
});

test('strings: required ones non-empty and bounded, optional ones null when empty', () => {
  assert.equal(requiredString('name', 'laptop'), 'laptop');
  for (const bad of ['', '   ', 'x'.repeat(201), 5, undefined]) assert.throws(() => requiredString('name', bad), refusedFor('name'));
  assert.equal(requiredString('name', 'x'.repeat(10), 10), 'x'.repeat(10));
  assert.equal(optString('note', ''), null);
  assert.equal(optString('note', undefined), undefined);
  assert.equal(optString('note', 'hi'), 'hi');
  assert.throws(() => optString('note', 1), refusedFor('note'));
});

test('a whole number in a range, from JSON or a query string; absent = the fallback', () => {
  assert.equal(intInRange('limit', undefined, 1, 1000, 100), 100);
  assert.equal(intInRange('limit', '', 1, 1000, 100), 100);
  assert.equal(intInRange('limit', '50', 1, 1000, 100), 50);
  assert.equal(intInRange('limit', 1000, 1, 1000, 100), 1000);
  for (const bad of [0, 1001, 1.5, '1e3', '-5', true]) assert.throws(() => intInRange('limit', bad, 1, 1000, 100), refusedFor('limit'), JSON.stringify(bad));
});

test('a body is a JSON object (none = empty); unknown fields are named', () => {
  assert.deepEqual(objectBody(undefined), {});
  assert.deepEqual(objectBody({ a: 1 }), { a: 1 });
  for (const bad of [[1], 'text', 5]) {
    assert.throws(() => objectBody(bad), (e: { status?: number; code?: string }) => e.status === 400 && e.code === ErrorCode.BAD_REQUEST);
  }
  onlyFields({ name: 'x' }, ['name', 'models']);
  assert.throws(() => onlyFields({ name: 'x', nmae: 'y' }, ['name']), refusedFor('nmae'));
});

test('a time filter: an ISO time or a duration back from now', () => {
  assert.deepEqual(parseTimeFilter('since', '1h', NOW), new Date(NOW.getTime() - 3600_000));
  assert.deepEqual(parseTimeFilter('since', '2026-01-31T12:00:00Z', NOW), new Date('2026-01-31T12:00:00Z'));
  assert.equal(parseTimeFilter('since', '', NOW), undefined);
  for (const bad of ['yesterday', '3600', 5]) assert.throws(() => parseTimeFilter('since', bad, NOW), refusedFor('since'), JSON.stringify(bad));
});
