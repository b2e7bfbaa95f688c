// `warden service install|uninstall|status`: registers Warden with the platform's service
// manager (systemd, launchd, the Windows SCM through WinSW). The ports come from the config, so
// the systemd unit grants CAP_NET_BIND_SERVICE only when a port below 1024 is configured.
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { resolveDataDir } from '../../config/paths.ts';
import { usageError } from '../../errors.ts';
import { serviceInstall, serviceStatus, serviceUninstall, type ServiceOptions } from '../../service/index.ts';
import type { ServiceScope } from '../../service/spec.ts';
import type { Config } from '../../config/schema.ts';
import type { GlobalOptions } from '../context.ts';
import { printJsonLine, printFields } from '../output.ts';

interface ServiceFlags {
  dataDir?: string;
  dryRun?: boolean;
  scope?: string;
  user?: string;
  node?: string;
  winsw?: string;
  serviceDir?: string;
  json?: boolean;
}

/** Ports the configured server binds: the listener, plus port 80 (or the configured one) when
 *  ACME answers HTTP-01 challenges itself. */
export function configuredPorts(config: Config): number[] {
  const ports = [Number(config.listen.slice(config.listen.lastIndexOf(':') + 1))];
  if (config.tls.mode === 'acme' && config.tls.acme.challenge === 'http-01') ports.push(config.tls.acme.httpPort);
  return ports;
}

function parseScope(s: string | undefined): ServiceScope | undefined {
  if (s === undefined) return undefined;
  if (s === 'system' || s === 'user') return s;
  throw usageError(`--scope: got ${JSON.stringify(s)}; allowed: "system" | "user"`);
}

function optionsFrom(flags: ServiceFlags, globals: GlobalOptions, withPorts: boolean): ServiceOptions {
  // `warden service install --data-dir DIR`: commander hands a flag the program also defines
  // to the program, so the subcommand's own value and the global one are both looked at.
  const dataDir = resolveDataDir(flags.dataDir ?? globals.dataDir);
  const opts: ServiceOptions = { dataDir, dryRun: flags.dryRun === true };
  const scope = parseScope(flags.scope);
  if (scope) opts.scope = scope;
  if (flags.user) opts.user = flags.user;
  if (flags.node) opts.execPath = flags.node;
  if (flags.winsw) opts.winswPath = flags.winsw;
  if (flags.serviceDir) opts.serviceDir = flags.serviceDir;
  if (withPorts) opts.ports = configuredPorts(loadConfig({ dataDir, configFile: globals.config }));
  return opts;
}

function common(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (default: $WARDEN_DATA_DIR or the platform default)')
    .option('--scope <scope>', 'system (at boot, own account; needs root/Administrator) or user (default: system when privileged)')
    .option('--service-dir <dir>', 'Windows: directory for the service host and its XML');
}

export function registerServiceCommand(program: Command, globals: () => GlobalOptions = () => ({})): Command {
  const service = program.command('service').description('register Warden with systemd, launchd or the Windows service manager');

  common(service.command('install'))
    .description('write the service definition and start the service')
    .option('--dry-run', 'print the definition and the commands instead of running them')
    .option('--user <name>', 'service account (default: warden; _warden on macOS)')
    .option('--node <path>', 'Node.js binary the service runs (default: this one)')
    .option('--winsw <path>', 'Windows: WinSW executable from the node-windows npm package')
    .action((flags: ServiceFlags) => {
      serviceInstall(optionsFrom(flags, globals(), true));
      if (!flags.dryRun) console.log('service installed and started; check it with `warden service status`');
    });

  common(service.command('uninstall'))
    .description('stop the service and remove its definition (the data directory is kept)')
    .option('--dry-run', 'print the commands instead of running them')
    .action((flags: ServiceFlags) => {
      serviceUninstall(optionsFrom(flags, globals(), false));
      if (!flags.dryRun) console.log('service removed; the data directory was kept');
    });

  common(service.command('status'))
    .description('is the service installed and running')
    .option('--json', 'machine-readable output')
    .action((flags: ServiceFlags) => {
      const st = serviceStatus(optionsFrom(flags, globals(), false));
      if (flags.json) {
        printJsonLine(st);
        return;
      }
      printFields([
        ['service', `${st.name} (${st.scope}, ${st.platform})`],
        ['definition', st.definition],
        ['installed', st.installed ? 'yes' : 'no'],
        ['running', st.running ? 'yes' : 'no'],
        ['manager says', st.detail],
      ]);
      if (!st.running) process.exitCode = 1;
    });

  return service;
}
