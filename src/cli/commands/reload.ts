// `warden reload`: asks the running server (through its admin API and the per-run local token)
// to re-read keys, revocations and certificate files now. Works on every OS, no signals needed.
import type { Command } from 'commander';
import { WardenError, ErrorCode } from '../../errors.ts';
import { resolveDataDir } from '../../config/paths.ts';
import type { GlobalOptions } from '../context.ts';
import { askRunningServer } from '../local-server.ts';
import { say } from '../output.ts';

export function registerReloadCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('reload')
    .description('make the running server re-read keys, revocations and certificates now')
    .action(async () => {
      const answer = (await askRunningServer(resolveDataDir(globals().dataDir), '/_warden/api/reload', 'POST')) as { reloaded?: string[] } | null;
      if (!answer) throw new WardenError(ErrorCode.STORE_UNAVAILABLE, 'no running server answered for this data dir (is `warden serve` running with the same --data-dir?)');
      say(`reloaded: ${(answer.reloaded ?? []).join(', ')}`);
    });
}
