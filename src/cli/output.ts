// Human output is aligned text; --json output is stable JSON on stdout (docs/design.md §7). Every
// string passes through inert() here, so text a client or an upstream chose (model names,
// paths, reasons, versions) can never move the cursor, forge a line or reorder the text.
import { inert, inertLines, safeJson } from '../inert-text.ts';

export function printJson(value: unknown): void {
  process.stdout.write(safeJson(value, 2) + '\n');
}

/** One JSON value on one line (audit --json). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(safeJson(value) + '\n');
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const safe = rows.map((r) => r.map((cell) => inert(cell ?? '')));
  const widths = safe[0]!.map((_, c) => Math.max(...safe.map((r) => (r[c] ?? '').length)));
  return safe.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function printTable(rows: string[][]): void {
  process.stdout.write(table(rows));
}

/** Two-column "label  value" block. */
export function printFields(fields: Array<[string, string]>): void {
  printTable(fields.map(([k, v]) => [k + ':', v]));
}

/** A line of text Warden composed around untrusted parts: everything but its own LFs is made inert. */
export function say(text: string): void {
  process.stdout.write(inertLines(text) + '\n');
}

/** The same on stderr. */
export function warn(text: string): void {
  process.stderr.write(inertLines(text) + '\n');
}
