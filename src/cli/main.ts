#!/usr/bin/env node
// Entry point of the `warden` command. It checks the Node.js version before anything else is
// loaded: the store needs node:sqlite, unflagged from Node.js 22.13 on, and an older Node
// would otherwise fail with an obscure module error.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`warden: Node.js ${process.versions.node} is too old; Warden needs Node.js 22.13 or newer (24 LTS recommended).\n`);
  process.exit(2);
}
const { main } = await import('./program.ts');
process.exitCode = await main(process.argv);
