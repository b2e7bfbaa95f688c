// Whose address a request is (src/server/client-address.ts): X-Forwarded-For only from a
// trusted proxy, read from the right; one hop and several give the same answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientAddress } from '../../src/server/client-address.ts';

function req(remoteAddress: string, xff?: string): IncomingMessage {
  return { socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as unknown as IncomingMessage;
}

const proxies = new Set(['10.0.0.5', '10.0.0.6']);

test('X-Forwarded-For is ignored from an address that is not a trusted proxy', () => {
  assert.equal(clientAddress(req('203.0.113.9', '198.51.100.1'), proxies), '203.0.113.9');
  assert.equal(clientAddress(req('::ffff:203.0.113.9', '198.51.100.1'), new Set()), '203.0.113.9');
});

test('one hop from a trusted proxy is the client, trimmed and v4-mapped addresses unwrapped', () => {
  assert.equal(clientAddress(req('10.0.0.5', '198.51.100.1'), proxies), '198.51.100.1');
  assert.equal(clientAddress(req('10.0.0.5', ' ::ffff:198.51.100.2 '), proxies), '198.51.100.2');
  assert.equal(clientAddress(req('10.0.0.5', '10.0.0.6'), proxies), '10.0.0.5', 'a hop that is itself a proxy');
  assert.equal(clientAddress(req('10.0.0.5'), proxies), '10.0.0.5', 'no header');
});

test('several hops: the rightmost one that is not a trusted proxy', () => {
  assert.equal(clientAddress(req('10.0.0.5', '192.0.2.66, 198.51.100.1, 10.0.0.6'), proxies), '198.51.100.1');
  assert.equal(clientAddress(req('10.0.0.5', '10.0.0.6, 10.0.0.5'), proxies), '10.0.0.5');
});
