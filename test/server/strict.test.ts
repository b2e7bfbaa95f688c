// src/server/strict.ts as unit tests: the framing checks on the fields Node's parser gives a
// request, the refused-socket mark, and Go's case-insensitive JSON keys. End to end, byte for byte
// through a real listener: test/security/request-smuggling.test.ts and header-abuse.test.ts.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { checkJsonKeys, checkRequestFraming, markRefused, wasRefused } from '../../src/server/strict.ts';

/** The fields of an IncomingMessage the check reads, as Node's parser fills them. */
function req(raw: string[], over: Partial<Pick<IncomingMessage, 'method' | 'url' | 'httpVersion' | 'httpVersionMajor'>> = {}): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] ??= raw[i + 1]!;
  return { method: 'POST', url: '/api/chat', httpVersion: '1.1', httpVersionMajor: 1, rawHeaders: raw, headers, ...over } as IncomingMessage;
}

test('an ordinary request passes', () => {
  assert.equal(checkRequestFraming(req(['Host', 'a', 'Content-Length', '2'])), null);
  assert.equal(checkRequestFraming(req(['Host', 'a', 'Transfer-Encoding', 'chunked'])), null);
  assert.equal(checkRequestFraming(req(['Host', 'a', 'Transfer-Encoding', 'Chunked'])), null, 'the coding name is case-insensitive');
});

const refused: Array<[string, IncomingMessage, RegExp]> = [
  ['two Host headers', req(['Host', 'a', 'Host', 'b']), /more than one Host/],
  ['two Content-Length headers', req(['Content-Length', '2', 'content-length', '2']), /more than one Content-Length/],
  ['two Transfer-Encoding headers', req(['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked']), /more than one Transfer-Encoding/],
  ['Transfer-Encoding other than chunked', req(['Transfer-Encoding', 'gzip, chunked']), /other than chunked/],
  ['Transfer-Encoding on HTTP/1.0', req(['Transfer-Encoding', 'chunked'], { httpVersion: '1.0' }), /HTTP\/1\.0/],
  ['Content-Length with Transfer-Encoding', req(['Transfer-Encoding', 'chunked', 'Content-Length', '5']), /together/],
  ['an Upgrade header', req(['Upgrade', 'websocket']), /upgrades/],
  ['CONNECT', req([], { method: 'CONNECT' }), /CONNECT/],
  ['TRACE', req([], { method: 'TRACE' }), /TRACE/],
  ['TRACK', req([], { method: 'TRACK' }), /TRACK/],
  ['an absolute-form target', req([], { url: 'http://other/api/tags' }), /origin-form/],
  ['HTTP/2 framing on this parser', req([], { httpVersion: '2.0', httpVersionMajor: 2 }), /HTTP version/],
];
for (const [name, r, why] of refused) {
  test(`refuses ${name} with 400 and a reason for the audit log`, () => {
    const e = checkRequestFraming(r);
    assert.ok(e, 'passed');
    assert.equal(e.status, 400);
    assert.equal(e.code, ErrorCode.BAD_REQUEST);
    assert.equal(e.message, 'bad request', 'the client learns nothing more');
    assert.match(e.reason, why);
  });
}

test('too many header lines → 431, counted before anything else', () => {
  const e = checkRequestFraming(req(['A', '1', 'B', '2', 'C', '3'], { method: 'TRACE' }), 2);
  assert.equal(e?.status, 431);
  assert.equal(e?.code, ErrorCode.HEADERS_TOO_LARGE);
  assert.equal(checkRequestFraming(req(['A', '1', 'B', '2']), 2), null);
});

test('a socket marked refused stays marked; others are not', () => {
  const a = {};
  const b = {};
  markRefused(a);
  assert.equal(wasRefused(a), true);
  assert.equal(wasRefused(b), false);
});

test('JSON keys Go would read differently are refused; plain bodies pass', () => {
  assert.equal(checkJsonKeys({ model: 'llama3.2', messages: [], stream: false }), null);
  assert.equal(checkJsonKeys([{ Model: 'x' }]), null, 'only top-level object keys are fields');
  assert.equal(checkJsonKeys({ Stream: true }), null, 'another spelling of a field Warden does not inspect');
  for (const body of [
    { model: 'a', Model: 'b' },
    { Stream: true, stream: false },
    { MODEL: 'b' },
    { '\u212Aeep_alive': -1 },
    { Options: {} },
    { model: 'a', 'mode\u017F': 1, MODE\u017F: 2 },
  ]) {
    const e = checkJsonKeys(body);
    assert.ok(e, JSON.stringify(body));
    assert.equal(e.status, 400);
    assert.match(e.message, /^ambiguous request body: /);
  }
});
