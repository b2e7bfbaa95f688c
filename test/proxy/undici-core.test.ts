// src/proxy/undici-core.ts loads undici's classes from its lib/ files, which are not part of
// undici's documented API and may move in any release. undici is therefore pinned exactly, and
// this test fails on an upgrade that moves or changes them, before a serve process would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as undici from 'undici';
import { Client, Pool } from '../../src/proxy/undici-core.ts';

const require = createRequire(import.meta.url);
const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { dependencies: Record<string, string> };
const installed = (JSON.parse(readFileSync(require.resolve('undici/package.json'), 'utf8')) as { version: string }).version;

test('package.json pins undici to one exact version, the one installed', () => {
  assert.match(pkg.dependencies.undici ?? '', /^\d+\.\d+\.\d+$/, 'no range: a new undici must be tested before it is used');
  assert.equal(pkg.dependencies.undici, installed);
});

test("the lib/ files undici-core loads are undici's Pool, Client and dispatcher API", () => {
  assert.equal(Pool, undici.Pool);
  assert.equal(Client, undici.Client);
  const api = require('undici/lib/api/index.js') as Record<string, unknown>;
  for (const m of ['request', 'stream', 'pipeline', 'connect', 'upgrade']) assert.equal(typeof api[m], 'function', m);
  assert.equal(typeof (Pool.prototype as unknown as Record<string, unknown>).request, 'function');
});
