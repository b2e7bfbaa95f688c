// `warden cert trust`: how to trust the local CA (wired to src/tls/trust.ts).
import type { Command } from 'commander';
import type { GlobalOptions } from '../context.ts';

export function registerTrustCommand(cert: Command, _globals: () => GlobalOptions): void {
  cert.command('trust').description('print how to trust the local CA on this OS and in each client');
}
