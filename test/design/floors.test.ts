// docs/design.md "Floors": a file imports only from its own floor or the floors below it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(import.meta.dirname, '..', '..');
const src = join(root, 'src');

/** The floor of a file under src/, as the table in docs/design.md gives it. */
function floorOf(file: string): number {
  const rel = relative(src, file).split('\\').join('/');
  const top = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
  const floors: Record<string, number> = {
    'errors.ts': 0, 'api-errors.ts': 0, 'inert-text.ts': 0, 'version.ts': 0, 'node-http.ts': 0, config: 0,
    store: 1,
    audit: 2, tls: 2, policy: 2,
    auth: 3,
    proxy: 4,
    admin: 5,
    server: 6,
    cli: 7, service: 7,
  };
  const f = floors[top];
  assert.ok(f !== undefined, `${rel}: not in the floors table of docs/design.md`);
  return f;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT_RE = /^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm;

test('no file in src/ imports from a floor above its own', () => {
  const ups: string[] = [];
  for (const file of tsFiles(src)) {
    const mine = floorOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(src)) continue; // package.json (src/version.ts)
      if (floorOf(target) > mine) ups.push(`${relative(root, file)} → ${relative(root, target)}`);
    }
  }
  assert.deepEqual(ups, []);
});

test('src/service imports nothing from src/cli', () => {
  const hits = tsFiles(join(src, 'service')).filter((f) => /from\s+'\.\.\/cli\//.test(readFileSync(f, 'utf8')));
  assert.deepEqual(hits.map((f) => relative(root, f)), []);
});
