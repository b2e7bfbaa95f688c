// The Node.js version check `warden` runs before anything else is loaded: the store needs
// node:sqlite, unflagged from Node.js 22.13 on, and an older Node would otherwise fail with an
// obscure module error. The message says exactly how to run the same command instead.
// Only node: built-ins here: this file must load on any Node that can parse ES modules.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIN_NODE = { major: 22, minor: 13 } as const;

export function nodeIsTooOld(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < MIN_NODE.major || (major === MIN_NODE.major && minor < MIN_NODE.minor);
}

/** Quotes an argument for a POSIX shell when it needs it. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What to print on a Node.js that is too old: the same command line, run by a Node that is new
 * enough. A clone after `npm ci` has the pinned Node 24 in node_modules; otherwise npx fetches
 * the `node@24` package from the npm registry (once, then it is cached).
 */
export function tooOldMessage(version: string, script: string, args: readonly string[]): string {
  // The file itself, not the bin symlink of a global install: dist/src/cli/main.js → the package root.
  const main = existsSync(script) ? realpathSync(script) : script;
  const rest = [main, ...args].map(shellWord).join(' ');
  const root = resolve(dirname(main), '..', '..', '..');
  const pinned = [join(root, 'node_modules', 'node', 'bin', 'node'), join(root, 'node_modules', '.bin', 'node')].find((p) => existsSync(p));
  const lines = [`warden: Node.js ${version} is too old; Warden needs Node.js ${MIN_NODE.major}.${MIN_NODE.minor} or newer (24 LTS recommended).`];
  if (pinned) lines.push('Run it with the Node.js 24 this checkout installed:', `  ${shellWord(pinned)} ${rest}`);
  lines.push(
    `Run it with Node.js 24 from the npm registry (downloaded once, then cached):`,
    `  npx -y node@24 ${rest}`,
    'Or install Node.js 24 LTS (https://nodejs.org or your package manager), or use the single-file `warden` executable, which needs no Node.js.',
  );
  return lines.join('\n') + '\n';
}

/** Exits with code 2 and the message when this Node is too old. */
export function checkNodeVersion(): void {
  if (!nodeIsTooOld(process.versions.node)) return;
  const script = process.argv[1] ? resolve(process.argv[1]) : fileURLToPath(new URL('./main.js', import.meta.url));
  process.stderr.write(tooOldMessage(process.versions.node, script, process.argv.slice(2)));
  process.exit(2);
}
