// `warden cert trust`: how to trust the local CA on Linux, macOS and Windows and in each client
// (ollama CLI, Node, Python); `--install` adds it to this OS's store (`--dry-run` only prints).
import type { Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tlsDir } from '../../config/paths.ts';
import { caPaths } from '../../tls/local-ca.ts';
import { currentTrustPlatform, installTrust, trustInstructions } from '../../tls/trust.ts';
import { WardenError, ErrorCode } from '../../errors.ts';
import { parseListen } from '../../server/listen.ts';
import { cliContext, type GlobalOptions } from '../context.ts';

interface TrustFlags {
  install?: boolean;
  dryRun?: boolean;
  user?: boolean;
  linuxDir?: string;
}

export function registerTrustCommand(cert: Command, globals: () => GlobalOptions): void {
  cert
    .command('trust')
    .description('print how to trust the local CA on each OS and client; --install adds it to this OS')
    .option('--install', "add the CA to this OS's trust store")
    .option('--dry-run', 'with --install: print the commands without running them')
    .option('--user', "with --install: the current user's store instead of the system's (macOS, Windows)")
    .option('--linux-dir <dir>', 'with --install on Linux: the anchors directory to copy the CA into')
    .action((f: TrustFlags) => {
      const ctx = cliContext(globals());
      const caPath = caPaths(tlsDir(ctx.dataDir)).certPath;
      if (!existsSync(caPath)) throw new WardenError(ErrorCode.TLS_INVALID, `no local CA at ${caPath}; run \`warden init\` first`);
      if (!f.install) {
        const fp = new X509Certificate(readFileSync(caPath)).fingerprint256;
        const { port } = parseListen(ctx.config.listen);
        process.stdout.write(trustInstructions(caPath, fp, { url: `https://localhost:${port}` }) + '\n');
        return;
      }
      const result = installTrust(currentTrustPlatform(), caPath, { dryRun: f.dryRun === true, user: f.user === true, ...(f.linuxDir ? { linuxDir: f.linuxDir, linuxUpdate: [] } : {}) });
      for (const c of result.commands) process.stdout.write(`${f.dryRun ? 'would run: ' : 'ran: '}${c}\n`);
    });
}
