// A per-run token that lets CLI commands on this machine (status, reload) use the admin API.
// The file is readable by the data dir's owner only, and removed after everything else on
// shutdown.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Closers } from './shutdown.ts';

export function writeLocalToken(dataDir: string, closers: Closers): string {
  const token = randomBytes(32).toString('base64url');
  const file = join(dataDir, 'run', 'admin-token');
  mkdirSync(join(dataDir, 'run'), { recursive: true, mode: 0o700 });
  writeFileSync(file, token, { mode: 0o600 });
  closers.addLast(async () => rmSync(file, { force: true }));
  return token;
}
