// Watches files for replacement. fs.watch is on the DIRECTORY, not the file: editors, certbot
// and `mv new.pem cert.pem` replace the inode, after which a watch on the old file sees nothing.
// A 1 s stat poll backs it up (network file systems, containers and some platforms drop events).
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface FileWatcher {
  close(): void;
}

function signature(paths: readonly string[]): string {
  return paths
    .map((p) => {
      try {
        const s = statSync(p);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/** Calls onChange (debounced by settleMs so a cert+key pair written one after the other is read
 *  once) whenever one of `paths` is created, replaced or modified. */
export function watchFiles(paths: readonly string[], onChange: () => void, opts: { pollMs?: number; settleMs?: number } = {}): FileWatcher {
  const pollMs = opts.pollMs ?? 1000;
  const settleMs = opts.settleMs ?? 100;
  let last = signature(paths);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = (): void => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (closed) return;
      const now = signature(paths);
      if (now === last) return;
      last = now;
      onChange();
    }, settleMs);
  };
  const names = new Set(paths.map((p) => basename(p)));
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, { persistent: false }, (_event, file) => {
        if (file === null || names.has(file.toString())) fire();
      });
      w.on('error', () => w.close()); // the poll keeps working
      watchers.push(w);
    } catch {
      /* directory not watchable: the poll covers it */
    }
  }
  const poll = setInterval(fire, pollMs);
  poll.unref();
  return {
    close(): void {
      closed = true;
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
