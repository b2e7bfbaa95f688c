// Every shell script in scripts/ passes shellcheck (Debian package `shellcheck`). Under CI a
// missing shellcheck fails the run instead of skipping it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const scripts = resolve(import.meta.dirname, '..', '..', 'scripts');
const shellFiles = readdirSync(scripts).filter((f) => f.endsWith('.sh'));
const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
const missing = version.error !== undefined;
if (missing && process.env.CI) throw new Error('shellcheck is missing: apt-get install -y shellcheck');

void test('scripts/ has shell scripts to check', () => {
  assert.ok(shellFiles.includes('install.sh'), `found: ${shellFiles.join(', ')}`);
});

for (const file of shellFiles) {
  void test(`shellcheck ${file}`, { skip: missing && 'shellcheck not installed (apt-get install -y shellcheck)' }, () => {
    // -x follows sourced files; severity "style" keeps even the pickiest findings out.
    const r = spawnSync('shellcheck', ['-x', '--severity=style', '--format=gcc', join(scripts, file)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `shellcheck found problems in ${file}:\n${r.stdout}${r.stderr}`);
  });
}
