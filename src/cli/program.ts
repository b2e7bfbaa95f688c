// The `warden` command: parses arguments and maps errors to exit codes (0 ok, 1 operation
// failed, 2 bad usage or config); each command lives in commands/.
import { Command, CommanderError, Option } from 'commander';
import { ErrorCode, exitCodeFor, isWardenError } from '../errors.ts';
import type { GlobalOptions } from './context.ts';
import { runInit, type InitOptions } from './commands/init.ts';
import { runServe, type ServeOptions } from './commands/serve.ts';
import { registerKeysCommand } from './commands/keys.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerAuditCommand } from './commands/audit.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerCertCommand } from './commands/cert.ts';
import { registerServiceCommand } from './commands/service.ts';
import { registerReloadCommand } from './commands/reload.ts';
import { registerLockoutCommand } from './commands/lockout.ts';
import { WARDEN_VERSION } from '../version.ts';
import { warn } from './output.ts';

const collect = (v: string, prev: string[] = []): string[] => prev.concat(v);

export function buildProgram(): Command {
  const program = new Command('warden')
    .description('TLS and API-key authentication in front of Ollama')
    .version(WARDEN_VERSION)
    .option('--data-dir <dir>', 'data directory (env WARDEN_DATA_DIR)')
    .option('--config <file>', 'config file (default <data-dir>/warden.yaml)')
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('init')
    .description('create the config, local CA and first admin key')
    .option('--hostname <name>', 'extra name or IP for the server certificate (repeatable)', collect)
    .option('--upstream <url>', 'Ollama address (default http://127.0.0.1:11434)')
    .option('--listen <addr>', 'listen address (default 0.0.0.0:11443)')
    .addOption(new Option('--tls <mode>', 'certificate source').choices(['local', 'files', 'acme']))
    .option('--tls-cert <file>', 'certificate (with --tls files)')
    .option('--tls-key <file>', 'private key (with --tls files)')
    .option('--client-auth <mode>', 'client certificates: off | optional | require')
    .option('--acme-domain <name>', 'domain for the ACME certificate (repeatable, with --tls acme)', collect)
    .option('--acme-email <address>', 'ACME account contact')
    .option('--no-audit', 'turn the audit log off (not recommended)')
    .option('--yes', 'take the defaults without asking')
    .option('--key-file <file>', 'write the first admin key to FILE (mode 0600) instead of printing it')
    .action(async (o: InitOptions) => {
      await runInit({ ...globals(), ...o });
    });

  program
    .command('serve')
    .description('run the gateway (initialises an empty data dir first)')
    .option('--listen <addr>', 'listen address')
    .option('--upstream <url>', 'Ollama address')
    .option('--tls-mode <mode>', 'local | files | acme')
    .option('--tls-cert <file>', 'certificate file (PEM)')
    .option('--tls-key <file>', 'private key file (PEM)')
    .option('--client-auth <mode>', 'off | optional | require')
    .option('--min-tls <version>', '1.3 | 1.2')
    .option('--hostname <name>', 'extra name for the local certificate (repeatable)', collect)
    .option('--insecure-http', 'serve PLAIN HTTP (loopback only)')
    .option('--i-know-this-is-exposed', 'allow plain HTTP on a non-loopback address')
    .action(async (o: ServeOptions) => {
      await runServe({ ...globals(), ...o });
    });

  registerKeysCommand(program, globals);
  registerCertCommand(program, globals);
  registerStatusCommand(program, globals);
  registerAuditCommand(program, globals);
  registerDoctorCommand(program, globals);
  registerReloadCommand(program, globals);
  registerLockoutCommand(program, globals);
  registerServiceCommand(program, globals);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isWardenError(err)) {
      warn(`warden: ${err.message}`);
      if (err.code === ErrorCode.INTERNAL && err.cause) warn(String(err.cause));
      return exitCodeFor(err);
    }
    warn(`warden: internal error (this is a bug): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

