// `npm run package`: builds dist/sea/warden, one executable file that runs Warden with no
// Node.js and no node_modules beside it (Node's single executable applications,
// https://nodejs.org/api/single-executable-applications.html), for the OS and CPU of the
// Node that runs this script (Linux x64 here; the node binary is the `node` npm package's).
//
//   1. rolldown bundles src/cli/sea-main.ts and every dependency into one CommonJS file (what
//      SEA runs); node: built-ins, node:sqlite included, stay outside;
//   2. the web UI (dist/web, from `npm run build`) goes in as SEA assets "web/<path>";
//   3. `node --experimental-sea-config` makes the blob, postject injects it into a copy of
//      this very node binary (the blob is only valid for the Node that made it).
// Run after `npm run build` (the npm script does both).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { build } from 'rolldown';
import { YOUNG_GEN_ARG } from '../src/service/young-generation.ts';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist', 'sea');
const webRoot = join(root, 'dist', 'web');
const started = Date.now();

if (!existsSync(join(webRoot, 'index.html'))) throw new Error(`${webRoot} is not built: run \`npm run build\` first`);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// 1. One CommonJS file.
const bundle = join(out, 'warden.cjs');
await build({
  input: join(root, 'src', 'cli', 'sea-main.ts'),
  platform: 'node',
  logLevel: 'warn',
  plugins: [
    {
      // undici-core.ts loads undici's classes with a require made by createRequire (so the
      // package build loads them alone): in the bundle, a plain require() the bundler follows.
      name: 'warden-undici-core',
      transform(code, id) {
        if (!id.endsWith(join('src', 'proxy', 'undici-core.ts'))) return null;
        return code.replace(/^const require = createRequire\(import\.meta\.url\);$/m, '');
      },
    },
  ],
  output: { file: bundle, format: 'cjs', codeSplitting: false, minify: false, sourcemap: false },
});

// 2. The web UI as assets.
const assets: Record<string, string> = {};
const walk = (dir: string): void => {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else assets[`web/${relative(webRoot, full).split(sep).join('/')}`] = full;
  }
};
walk(webRoot);

// 3. The blob, injected into a copy of this node.
const blob = join(out, 'warden.blob');
const config = join(out, 'sea-config.json');
writeFileSync(
  config,
  JSON.stringify(
    {
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
      assets,
      // What main.ts's re-exec adds for `serve` (why: main.ts); every command gets it here.
      execArgv: [YOUNG_GEN_ARG],
    },
    null,
    2,
  ),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
const exe = join(out, process.platform === 'win32' ? 'warden.exe' : 'warden');
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
// postject warns about every ELF note section it cannot name (harmless): shown only on failure.
const injected = spawnSync(
  process.execPath,
  [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2', ...(process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [])],
  { encoding: 'utf8' },
);
if (injected.status !== 0) throw new Error(`postject failed (${injected.status}):\n${injected.stdout}${injected.stderr}`);
for (const f of [blob, config, bundle]) rmSync(f);
const mb = (statSync(exe).size / 1e6).toFixed(0);
process.stdout.write(`built ${relative(root, exe)} (${mb} MB, Node ${process.versions.node}, ${process.platform}-${process.arch}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

