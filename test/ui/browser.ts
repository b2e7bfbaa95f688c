// TEST HELPERS for the browser tests: launching Debian's Chromium through playwright-core, and
// making sure the UI is built. In CI a missing browser is a failure, never a skip.
import { existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOTS = join(REPO, 'test-output', 'ui');

/** Why the browser tests cannot run here, or null. Throws in CI instead of returning a reason. */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const why = `${CHROMIUM} not found: install it with "apt-get install -y chromium"`;
  if (process.env.CI) throw new Error(why);
  return why;
}

/** Builds dist/web when it is missing (npm test builds it first; a lone test run may not). */
export function ensureWebBuilt(): string {
  const out = join(REPO, 'dist', 'web');
  if (!existsSync(join(out, 'index.html'))) {
    execFileSync(join(REPO, 'node_modules', '.bin', 'vite'), ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: REPO, stdio: 'inherit' });
  }
  return out;
}

export async function launch(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
