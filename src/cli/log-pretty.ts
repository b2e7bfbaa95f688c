// The server log on a terminal: the same records as the JSON lines a service manager or a pipe
// gets, one per line as "12:00:00.123 INFO  message  key=value …", so a person reads one format
// too. Off a terminal the JSON lines are written as they are (scripts and journals parse them).
import { inert, inertLines } from '../inert-text.ts';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function value(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** One JSON log line → one readable line (multi-line messages, like first start's, kept as lines). */
export function prettyLine(line: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  // Values come from clients and upstreams (model names, paths): no terminal escapes reach the TTY.
  const msg = inertLines(typeof rec.msg === 'string' ? rec.msg : '');
  const tag = LEVELS[level] ?? String(level);
  const head = colour && COLOURS[level] ? `${COLOURS[level]}${tag}\x1b[0m` : tag;
  return `${time} ${head} ${msg}${fields ? `  ${inert(fields)}` : ''}\n`;
}

/** A pino destination that writes pretty lines to `out`. */
export function prettyDestination(out: NodeJS.WriteStream): { write(chunk: string): void } {
  const colour = out.hasColors?.() === true;
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) if (line) out.write(prettyLine(line, colour));
    },
  };
}
