// Human output is aligned text; --json output is stable JSON on stdout (DESIGN §7).
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function printTable(rows: string[][]): void {
  process.stdout.write(table(rows));
}

/** Two-column "label  value" block. */
export function printFields(fields: Array<[string, string]>): void {
  printTable(fields.map(([k, v]) => [k + ':', v]));
}
