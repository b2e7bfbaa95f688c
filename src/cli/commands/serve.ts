// `warden serve`: initialise an empty data dir (as `init --yes`), then run until SIGINT/SIGTERM.
import { writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigFlags } from '../../config/load.ts';
import { startServer, type RunningServer } from '../../server/index.ts';
import { cliContext, hasStore, isEmptyDataDir, type GlobalOptions } from '../context.ts';
import { resolveDataDir } from '../../config/paths.ts';
import { createLogger } from '../logger.ts';
import { runInit } from './init.ts';
import { usageError } from '../../errors.ts';

/** The config flags (commander gives them under the same names) plus the two plain-HTTP switches. */
export interface ServeOptions extends GlobalOptions, ConfigFlags {
  insecureHttp?: boolean;
  iKnowThisIsExposed?: boolean;
}

/**
 * Which service manager started this process, or null for a person at a terminal or a script.
 * WARDEN_SERVICE is set by every definition `warden service install` writes; INVOCATION_ID
 * and JOURNAL_STREAM by systemd for any unit. A terminal on stdout means a person is watching
 * (a desktop terminal can itself run inside a systemd unit and pass INVOCATION_ID on).
 */
export function serviceManager(env: NodeJS.ProcessEnv, stdoutIsTty: boolean): string | null {
  if (stdoutIsTty) return null;
  if (env.WARDEN_SERVICE === '1') return 'WARDEN_SERVICE=1';
  if (env.JOURNAL_STREAM) return 'systemd, JOURNAL_STREAM is set';
  if (env.INVOCATION_ID) return 'systemd, INVOCATION_ID is set';
  return null;
}

/** Where a running server tells local CLI commands how to reach it. */
export function runFile(dataDir: string): string {
  return join(dataDir, 'run', 'server.json');
}

export async function runServe(o: ServeOptions): Promise<void> {
  // Signals are handled from the first moment, so a stop request during start-up is honoured
  // once the listener is up instead of killing the process half-initialised. As the servers
  // operators know: SIGHUP reloads, SIGTERM/SIGINT drain streams for
  // server.shutdownGraceSeconds, and a second one stops at once.
  let server: RunningServer | null = null;
  let stopRequested: string | null = null;
  let draining = false;
  let graceSeconds = 5;
  const log = createLogger();
  const dataDir = resolveDataDir(o.dataDir);
  const removeRunFiles = (): void => {
    rmSync(runFile(dataDir), { force: true });
    rmSync(join(dataDir, 'run', 'admin-token'), { force: true });
  };
  const stop = (signal: string): void => {
    if (draining) {
      log.warn({ signal }, 'second stop signal: stopping now, cutting streams in flight');
      removeRunFiles();
      process.exit(1);
    }
    stopRequested = signal;
    if (!server) return;
    const s = server;
    server = null;
    draining = true;
    log.info({ signal, graceSeconds }, `shutting down; in-flight streams get ${graceSeconds} s to finish (send ${signal} again to stop now)`);
    void s.close(graceSeconds * 1000).then(() => {
      removeRunFiles();
      log.info('stopped');
      process.exit(0);
    });
  };
  const reload = (): void => {
    const s = server;
    if (!s) return void log.info('SIGHUP before the server is up: nothing to reload yet');
    s.reload('SIGHUP').then(
      (what) => log.info({ reloaded: what }, 'reloaded on SIGHUP'),
      (err: unknown) => log.error({ err }, 'reload on SIGHUP failed'),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Without a handler SIGHUP kills the process on the spot.
  if (process.platform !== 'win32') process.on('SIGHUP', reload);

  // First run: a data dir without a store (missing, empty, or a hand-written warden.yaml) is
  // initialised as `init --yes` would. A --config file must exist already.
  if (isEmptyDataDir(dataDir) || !hasStore(dataDir, cliContext({ dataDir, config: o.config }, {}, { mayBeUninitialised: true }).config)) {
    // A service's output goes to a journal or log file other accounts and backups can read:
    // the first admin key must never be printed there. The operator runs `warden init` once.
    const manager = serviceManager(process.env, process.stdout.isTTY === true);
    if (manager) {
      throw usageError(
        `data directory ${dataDir} is not initialised, and a service (${manager}) does not initialise it: the first admin key would be printed to the service log. Run \`warden init --data-dir ${JSON.stringify(dataDir)}\` once (as the service account), then start the service again`,
      );
    }
    // The first admin key and the client snippets are one log record, so the output stays one
    // format; on a terminal the record is shown as its lines, readable and copyable.
    await runInit(
      { dataDir, config: o.config, yes: true, listen: o.listen, upstream: o.upstream, hostname: o.hostname, tls: o.insecureHttp ? undefined : o.tlsMode, tlsCert: o.tlsCert, tlsKey: o.tlsKey },
      { print: (text) => log.info(`first start: initialised ${dataDir}\n${text}`) },
    );
  }
  // flagLayer() reads only the config flags; --insecure-http means tls.mode off.
  const flags: ConfigFlags = { ...o, tlsMode: o.insecureHttp ? 'off' : o.tlsMode };
  const ctx = cliContext({ dataDir, config: o.config }, flags);
  const running = await startServer({
    config: ctx.config,
    dataDir,
    configFile: ctx.configFile,
    flags: { insecureHttp: o.insecureHttp === true, exposedOk: o.iKnowThisIsExposed === true },
    configFlags: flags,
    log,
  });
  mkdirSync(join(dataDir, 'run'), { recursive: true, mode: 0o700 });
  writeFileSync(runFile(dataDir), JSON.stringify({ pid: process.pid, url: running.url, port: running.port, startedAt: new Date().toISOString() }), { mode: 0o600 });
  graceSeconds = ctx.config.server.shutdownGraceSeconds;
  server = running;
  // The record scripts and service managers wait for (docs/design.md §7): its message ends in the URL,
  // so /listening on (https?:\/\/[^\s"]+)/ finds it in the JSON line and the pretty one alike.
  log.info({ url: running.url }, `listening on ${running.url}`);
  if (ctx.config.tls.mode === 'off') log.warn('serving PLAIN HTTP: keys and prompts cross the network unencrypted');
  if (stopRequested) stop(stopRequested);
}
