// `warden lockout list|clear`: the running server's failed-authentication lockout. It lives in
// the server's memory, so these ask the running server (local control token, local-server.ts).
import type { Command } from 'commander';
import { WardenError, ErrorCode } from '../../errors.ts';
import { resolveDataDir } from '../../config/paths.ts';
import type { GlobalOptions } from '../context.ts';
import { queryRunningServer } from '../local-server.ts';
import { isIP } from 'node:net';
import { printJson, say } from '../output.ts';
import { inert } from '../../inert-text.ts';

interface LockedAddress {
  address: string;
  lockedForSeconds: number;
  until: string;
}

async function ask(dataDir: string, path: string, method: string): Promise<unknown> {
  const a = await queryRunningServer(dataDir, path, method);
  if (a.state === 'answered') return a.body;
  if (a.state === 'not-running') {
    throw new WardenError(ErrorCode.STORE_UNAVAILABLE, 'no running server for this data dir: the lockout lives in the server\'s memory (is `warden serve` running with the same --data-dir?)');
  }
  throw new WardenError(ErrorCode.STORE_UNAVAILABLE, `the running server (pid ${a.pid}) did not answer: ${a.detail}`);
}

export function registerLockoutCommand(program: Command, globals: () => GlobalOptions): void {
  const lockout = program.command('lockout').description('addresses locked out after failed authentications (IPv6 per /64)');

  lockout
    .command('list')
    .description('list the addresses locked out now')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const body = (await ask(resolveDataDir(globals().dataDir), '/_warden/api/lockouts', 'GET')) as { lockouts: LockedAddress[] };
      if (opts.json) return printJson(body.lockouts);
      if (body.lockouts.length === 0) return say('no address is locked out');
      for (const l of body.lockouts) say(`${inert(l.address)}  locked for ${l.lockedForSeconds} s more (until ${l.until})`);
    });

  lockout
    .command('clear <address>')
    .description('end the lockout of an address (or an IPv6 /64 as `lockout list` prints it)')
    .action(async (address: string) => {
      const bare = address.endsWith('::/64') ? `${address.slice(0, -3)}1` : address;
      if (isIP(bare) === 0) throw new WardenError(ErrorCode.USAGE, `address: got ${JSON.stringify(inert(address))}; an IPv4 or IPv6 address, or an IPv6 /64 like 2001:db8:1:2::/64`);
      const dataDir = resolveDataDir(globals().dataDir);
      const body = (await ask(dataDir, `/_warden/api/lockouts?address=${encodeURIComponent(address)}`, 'DELETE')) as { address: string; cleared: boolean };
      say(body.cleared ? `${inert(body.address)}: lockout cleared` : `${inert(body.address)} was not locked out`);
    });
}
