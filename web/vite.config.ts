// Builds the admin UI into dist/web (served by src/admin/static.ts under /_warden/).
// No inline script or style may come out of the build: the CSP is script-src 'self';
// style-src 'self', so the module-preload polyfill (an inline helper) is turned off and nothing
// is inlined as a data: URL except images.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/_warden/',
  plugins: [preact()],
  publicDir: 'public',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
