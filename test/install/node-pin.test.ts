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

// The downloaded runtime is checked against SHA-512 pins carried in the scripts themselves (a
// piped install.sh has no other file): every platform either installer fetches for has one.
for (const [file, platforms] of [
  ['install.sh', ['linux-x64', 'linux-arm64']],
  ['install.ps1', ['win-x64']],
] as const) {
  void test(`${file} pins a SHA-512 for every Node.js build it downloads`, () => {
    const text = readFileSync(join(repo, 'scripts', file), 'utf8');
    for (const p of platforms) {
      const pin = file === 'install.sh' ? new RegExp(`${p}\\) echo ([0-9a-f]{128}) ;;`).exec(text) : /\$NodeWinX64Sha512 = '([0-9a-f]{128})'/.exec(text);
      assert.ok(pin, `scripts/${file} has no SHA-512 pin for node-${p}`);
    }
    assert.doesNotMatch(text, /allowScripts|npm install[^\n]*"node@/, `scripts/${file} must not install Node through the "node" package's install script`);
  });
}
