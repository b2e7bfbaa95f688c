// The Node.js that install.sh and install.ps1 fetch when the machine has none new enough must
// be the one the project is tested with (the "node" package in package-lock.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..');
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
const tested = lock.packages['node_modules/node']?.version;

for (const [file, pattern] of [
  ['install.sh', /WARDEN_NODE_VERSION="\$\{WARDEN_NODE_VERSION:-([0-9.]+)\}"/],
  ['install.ps1', /\$NodeVersion = '([0-9.]+)'/],
] as const) {
  void test(`${file} pins the Node.js version from package-lock.json`, () => {
    const m = pattern.exec(readFileSync(join(repo, 'scripts', file), 'utf8'));
    assert.ok(m, `no pinned version found in scripts/${file}`);
    assert.ok(tested, 'package-lock.json has no node_modules/node entry');
    assert.equal(m[1], tested, `scripts/${file} pins ${m[1]}, the project is tested with ${tested}`);
  });
}
