// `warden audit`: reads the JSON-lines audit file (and its rotated predecessors), filters,
// and with --follow keeps printing new lines as they are written.
import { existsSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveDataPath } from '../../config/load.ts';
import { usageError } from '../../errors.ts';
import { cliContext, type GlobalOptions } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { printJsonLine, printTable } from '../output.ts';

interface AuditFlags {
  key?: string;
  since?: string;
  status?: string;
  follow?: boolean;
  json?: boolean;
}

type Line = Record<string, unknown> & { time: string };

export function auditFilter(f: AuditFlags, now = Date.now()): (e: Line) => boolean {
  const since = f.since ? now - parseDuration(f.since, '--since') * 1000 : null;
  let status: ((s: number) => boolean) | null = null;
  if (f.status) {
    const m = /^([1-5])xx$|^(\d{3})$/.exec(f.status);
    if (!m) throw usageError(`--status: got ${JSON.stringify(f.status)}; expected a class like 4xx or a code like 401`);
    status = m[1] ? (s) => Math.floor(s / 100) === Number(m[1]) : (s) => s === Number(m[2]);
  }
  return (e) => {
    if (f.key && e.keyId !== f.key && e.keyName !== f.key) return false;
    if (since !== null && Date.parse(e.time) < since) return false;
    if (status && (typeof e.status !== 'number' || !status(e.status))) return false;
    return true;
  };
}

function parseLines(text: string): Line[] {
  const out: Line[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l) as Line);
    } catch {
      // a line cut by a crash mid-write: skip it, keep the rest
    }
  }
  return out;
}

function show(events: Line[], json: boolean): void {
  if (json) {
    for (const e of events) printJsonLine(e);
    return;
  }
  if (events.length === 0) return;
  printTable(
    events.map((e) => [
      String(e.time),
      String(e.kind ?? ''),
      String(e.keyName ?? e.keyId ?? 'anonymous'),
      String(e.clientAddress ?? '-'),
      `${e.method ?? ''} ${e.path ?? ''}`.trim() || '-',
      String(e.status ?? '-'),
      String(e.reason ?? ''),
    ]),
  );
}

export function registerAuditCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('audit')
    .description('read the audit log')
    .option('--key <id>', 'only this key (id or name)')
    .option('--since <duration>', 'only the last DURATION (e.g. 1h, 7d)')
    .option('--status <class>', 'only this status class (4xx) or code (401)')
    .option('--follow', 'keep printing new events')
    .option('--json', 'one JSON object per line')
    .action(async (f: AuditFlags) => {
      const ctx = cliContext(globals());
      const file = resolveDataPath(ctx.dataDir, ctx.config.audit.file);
      const keep = (e: Line): boolean => filter(e);
      const filter = auditFilter(f);
      const files = [];
      for (let i = ctx.config.audit.keep; i >= 1; i--) if (existsSync(`${file}.${i}`)) files.push(`${file}.${i}`);
      if (existsSync(file)) files.push(file);
      for (const fl of files) show(parseLines(readFileSync(fl, 'utf8')).filter(keep), f.json === true);
      if (!f.follow) return;
      let pos = existsSync(file) ? statSync(file).size : 0;
      let partial = '';
      await new Promise<never>(() => {
        setInterval(() => {
          if (!existsSync(file)) return;
          const size = statSync(file).size;
          if (size < pos) pos = 0; // rotated
          if (size === pos) return;
          const fd = openSync(file, 'r');
          const buf = Buffer.alloc(size - pos);
          readSync(fd, buf, 0, buf.length, pos);
          closeSync(fd);
          pos = size;
          const text = partial + buf.toString('utf8');
          const cut = text.lastIndexOf('\n');
          partial = text.slice(cut + 1);
          show(parseLines(text.slice(0, cut + 1)).filter(keep), f.json === true);
        }, 250);
      });
    });
}
