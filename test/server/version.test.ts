// The version has one source: package.json. The CLI's --version, /_warden/status and the package
// all say the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WARDEN_VERSION } from '../../src/version.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; files: string[] };

test("WARDEN_VERSION is package.json's version", () => {
  assert.equal(WARDEN_VERSION, pkg.version);
});

test('the npm package ships the package.json the built code imports its version from', () => {
  assert.ok(pkg.files.includes('dist/package.json'), 'dist/src/version.js imports ../package.json');
});
