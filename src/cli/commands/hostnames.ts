// `warden cert hostnames list|add|remove`: the names on the local CA's server certificate can
// change after `init`. add/remove update tls.hostnames in warden.yaml (comments kept) and
// reissue tls/server.pem at once; a running server serves the new certificate within ~1 s
// (local-source.ts watches the files), no restart.
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tlsDir } from '../../config/paths.ts';
import { readConfigFile } from '../../config/load.ts';
import { setConfigValue } from '../../config/write.ts';
import { usageError } from '../../errors.ts';
import { ensureLocalCa } from '../../tls/local-ca.ts';
import { ensureServerCert, SERVER_CERT_FILE, serverCertNames } from '../../tls/server-cert.ts';
import { certSans } from '../../tls/x509-util.ts';
import { cliContext, type CliContext, type GlobalOptions } from '../context.ts';
import { printJson } from '../output.ts';

const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A name a certificate can carry: an IP address or a DNS name (lower case). */
export function checkCertName(raw: string): string {
  const name = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (isIP(name) !== 0 || (name.length <= 253 && DNS_NAME.test(name))) return name;
  throw usageError(`hostname ${JSON.stringify(raw)} is neither a DNS name (e.g. gpu.lan) nor an IP address`);
}

function needLocal(ctx: CliContext): void {
  if (ctx.config.tls.mode !== 'local') {
    throw usageError(`tls.mode is ${ctx.config.tls.mode}: the certificate's names come from ${ctx.config.tls.mode === 'acme' ? 'tls.acme.domains' : 'your own certificate (tls.cert)'}, not from Warden's local CA`);
  }
}

/** The extra names warden.yaml itself lists (not the environment's or flags'). */
function fileHostnames(ctx: CliContext): string[] {
  const tls = readConfigFile(ctx.configFile).tls as { hostnames?: unknown } | undefined;
  return Array.isArray(tls?.hostnames) ? tls.hostnames.map(String) : [];
}

/** Writes the new list and reissues the certificate; returns the names it carries. */
export async function setHostnames(ctx: CliContext, hostnames: string[]): Promise<string[]> {
  setConfigValue(ctx.configFile, ['tls', 'hostnames'], hostnames);
  const dir = tlsDir(ctx.dataDir);
  const cert = await ensureServerCert(dir, hostnames, { ca: await ensureLocalCa(dir) });
  return certSans(cert.certPem);
}

function report(names: string[], changed: boolean): void {
  process.stdout.write(`${changed ? 'Reissued the server certificate' : 'Server certificate'} for: ${names.join(', ')}\n`);
  if (changed) process.stdout.write('A running server serves it within a second (no restart needed).\n');
}

export function registerHostnamesCommand(cert: Command, globals: () => GlobalOptions): void {
  const cmd = cert.command('hostnames').description("names on the local CA's server certificate (reissued at once; no restart)");

  cmd
    .command('list')
    .description('the names on the server certificate, and the extra ones warden.yaml adds')
    .option('--json', 'machine-readable output')
    .action((f: { json?: boolean }) => {
      const ctx = cliContext(globals());
      needLocal(ctx);
      const path = join(tlsDir(ctx.dataDir), SERVER_CERT_FILE);
      let pem: string;
      try {
        pem = readFileSync(path, 'utf8');
      } catch {
        throw usageError(`no server certificate at ${path} yet: \`warden serve\` or \`warden cert hostnames add\` issues it`);
      }
      const onCert = certSans(pem);
      const extra = ctx.config.tls.hostnames;
      if (f.json) return printJson({ certificate: onCert, configured: extra, automatic: serverCertNames([]) });
      process.stdout.write(`on the certificate: ${onCert.join(', ')}\n`);
      process.stdout.write(`added in ${ctx.configFile}: ${extra.length ? extra.join(', ') : '(none)'}\n`);
    });

  cmd
    .command('add <names...>')
    .description('add names or IP addresses and reissue the certificate')
    .action(async (names: string[]) => {
      const ctx = cliContext(globals());
      needLocal(ctx);
      const current = fileHostnames(ctx);
      const wanted = [...new Set([...current, ...names.map(checkCertName)])];
      report(await setHostnames(ctx, wanted), true);
    });

  cmd
    .command('remove <names...>')
    .description('remove names added before and reissue the certificate')
    .action(async (names: string[]) => {
      const ctx = cliContext(globals());
      needLocal(ctx);
      const current = fileHostnames(ctx);
      const drop = new Set(names.map(checkCertName));
      const missing = [...drop].filter((n) => !current.map((c) => c.toLowerCase()).includes(n));
      if (missing.length) {
        throw usageError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in tls.hostnames of ${ctx.configFile} (localhost, loopback, this host's name and addresses are always on the certificate)`);
      }
      report(await setHostnames(ctx, current.filter((c) => !drop.has(c.toLowerCase()))), true);
    });
}
