// CPU time and memory of a process tree, read straight from /proc (Linux only).
//
// Why /proc and not process.cpuUsage(): the systems under test are separate processes (nginx's
// master + worker, Caddy, Warden), and only the kernel's own accounting measures them all the same
// way. utime + stime in /proc/<pid>/stat cover every thread of the process, so libuv's thread pool
// (audit file writes, crypto) and Go's runtime threads are counted too.
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat. 100 on every Linux we care about (getconf CLK_TCK). */
const CLK_TCK = 100;

interface StatLine {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): StatLine | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone between listing and reading
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); ppid is field 4, utime field 14, stime field 15.
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { pid, ppid, ticks: utime + stime };
}

/** The pid and all its descendants (nginx workers, a shell's children). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by the whole tree. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

/** Resident set size of one process in bytes (VmRSS), 0 if it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Sum of VmRSS over the tree. Shared pages (nginx master + worker) are counted twice: an upper bound. */
export function treeRssBytes(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) sum += rssBytes(pid);
  return sum;
}

/** Samples the tree's RSS every `intervalMs` until stopped; returns the peak seen. */
export function sampleRss(pids: readonly number[], intervalMs = 100): { stop(): number } {
  let peak = treeRssBytes(pids);
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRssBytes(pids));
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, treeRssBytes(pids));
    },
  };
}
