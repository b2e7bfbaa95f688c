// Reads the fenced code blocks of the user docs and the test marker before each one:
//
//   <!-- test: run -->          the block is executed by docs-run.test.ts, in order, in one
//                               shell per document, against a real Warden;
//   <!-- test: expect -->       (after a run block) each line must appear in that block's output,
//                               `…` standing for anything;
//   <!-- test: mirror ID -->    the block cannot run here (another OS, a Python package, a public
//                               domain); a test in test/docs that names ID checks it, exactly.
//
// Every shell block (sh, bash, powershell, cmd) must carry one of these: docs-markers.test.ts
// fails on a command nobody runs.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DOCS_DIR = join(ROOT, 'docs');
/** The documents this harness owns (admin-api.md belongs to the admin API tests). */
export const USER_DOCS = ['tls.md', 'keys.md', 'clients.md', 'security.md', 'deploy.md'];

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'powershell', 'ps1', 'pwsh', 'cmd', 'bat']);

export type Marker = { kind: 'run' } | { kind: 'expect' } | { kind: 'mirror'; id: string } | { kind: 'none' };

export interface Block {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  marker: Marker;
}

function parseMarker(text: string | undefined): Marker {
  const m = text === undefined ? null : /^<!--\s*test:\s*(run|expect|mirror\s+([\w.-]+))\s*-->$/.exec(text.trim());
  if (!m) return { kind: 'none' };
  if (m[1] === 'run') return { kind: 'run' };
  if (m[1] === 'expect') return { kind: 'expect' };
  return { kind: 'mirror', id: m[2]! };
}

export function parseBlocks(doc: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    blocks.push({ doc, line: i + 1, lang: open[1] ?? '', code: lines.slice(i + 1, j).join('\n'), marker: parseMarker(lines[k]) });
    i = j;
  }
  return blocks;
}

export function docBlocks(doc: string): Block[] {
  return parseBlocks(doc, readFileSync(join(DOCS_DIR, doc), 'utf8'));
}

/** The one block marked `mirror ID` in doc (throws when there is none or more than one). */
export function mirrored(doc: string, id: string): Block {
  const found = docBlocks(doc).filter((b) => b.marker.kind === 'mirror' && b.marker.id === id);
  if (found.length !== 1) throw new Error(`${doc}: expected one block marked "mirror ${id}", found ${found.length}`);
  return found[0]!;
}

/** Test files under test/docs, for checking that every mirror id is claimed by a test. */
export function docTestSources(): string {
  const dir = join(ROOT, 'test', 'docs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

/** An expect block's lines as regexes: literal text, `…` = anything. */
export function expectPatterns(code: string): RegExp[] {
  return code
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => new RegExp('^' + l.trim().split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$'));
}
