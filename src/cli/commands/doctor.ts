// `warden doctor`: checks that catch the usual ways a gateway is bypassed or about to break.
// Each check prints ok / warn / FAIL with a hint; the exit code is 1 when any check fails.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import type { Command } from 'commander';
import { tlsDir } from '../../config/paths.ts';
import { resolveDataPath } from '../../config/load.ts';
import { describeCertificate } from '../../tls/cert-info.ts';
import { createUpstreams } from '../../proxy/upstreams.ts';
import { isLoopback, parseListen } from '../../server/listen.ts';
import { cliContext, type CliContext, type GlobalOptions } from '../context.ts';
import { printJson, say } from '../output.ts';

export interface Check {
  name: string;
  level: 'ok' | 'warn' | 'fail';
  detail: string;
  hint?: string;
}

function canConnect(host: string, port: number, timeoutMs = 800): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Addresses of this machine other than loopback, where an exposed Ollama would answer. */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => !!a && !a.internal)
    .map((a) => a.address);
}

export async function runChecks(ctx: CliContext, now = new Date()): Promise<Check[]> {
  const checks: Check[] = [];
  const c = ctx.config;

  const upstreams = createUpstreams([c.upstream], { probeTimeoutMs: 2000 });
  try {
    const [probe] = await upstreams.probe();
    checks.push(
      probe?.reachable
        ? { name: 'ollama reachable', level: 'ok', detail: `${c.upstream} answers (Ollama ${probe.version ?? '?'})` }
        : { name: 'ollama reachable', level: 'fail', detail: `${c.upstream} does not answer`, hint: 'start Ollama, or set `upstream` in warden.yaml to where it listens' },
    );
  } finally {
    await upstreams.close();
  }
  const up = new URL(c.upstream);
  const upHost = up.hostname.replace(/^\[|\]$/g, '');
  const upPort = Number(up.port || (up.protocol === 'https:' ? 443 : 80));
  if (isLoopback(upHost)) {
    const exposedOn: string[] = [];
    for (const addr of externalAddresses()) if (await canConnect(addr, upPort)) exposedOn.push(addr);
    checks.push(
      exposedOn.length === 0
        ? { name: 'ollama bound to loopback', level: 'ok', detail: `port ${upPort} is not open on this machine's other addresses` }
        : {
            name: 'ollama bound to loopback',
            level: 'fail',
            detail: `port ${upPort} also answers on ${exposedOn.join(', ')}: anyone who can reach those addresses bypasses Warden`,
            hint: 'set OLLAMA_HOST=127.0.0.1:11434 in Ollama’s service environment and restart it',
          },
    );
  } else {
    checks.push({ name: 'ollama bound to loopback', level: 'warn', detail: `upstream ${c.upstream} is not a loopback address`, hint: 'run Ollama on the same machine bound to 127.0.0.1, or make sure only Warden can reach it' });
  }

  const certFile = c.tls.mode === 'local' ? join(tlsDir(ctx.dataDir), 'server.pem') : c.tls.mode === 'files' ? c.tls.cert : null;
  if (certFile && existsSync(certFile)) {
    const info = describeCertificate(readFileSync(certFile, 'utf8'), c.tls.mode === 'local' ? 'local-ca' : 'files', now);
    checks.push(
      info.daysLeft < 0
        ? { name: 'certificate expiry', level: 'fail', detail: `expired on ${info.notAfter}`, hint: c.tls.mode === 'local' ? 'restart Warden; it renews the local certificate' : 'replace tls.cert / tls.key; Warden reloads them' }
        : info.daysLeft < 30
          ? { name: 'certificate expiry', level: 'warn', detail: `${info.daysLeft} days left (${info.notAfter})` }
          : { name: 'certificate expiry', level: 'ok', detail: `${info.daysLeft} days left` },
    );
  }

  if (process.platform !== 'win32') {
    const secret = [join(tlsDir(ctx.dataDir), 'ca-key.pem'), join(tlsDir(ctx.dataDir), 'server-key.pem'), c.tls.key, c.store.url.startsWith('sqlite:') ? resolveDataPath(ctx.dataDir, c.store.url.slice(7)) : null, ctx.configFile];
    const loose = secret.filter((f): f is string => !!f && existsSync(f) && (statSync(f).mode & 0o077) !== 0);
    checks.push(
      loose.length === 0
        ? { name: 'file permissions', level: 'ok', detail: 'keys, database and config are readable by their owner only' }
        : { name: 'file permissions', level: 'fail', detail: `readable by others: ${loose.join(', ')}`, hint: `chmod 600 ${loose.map((f) => JSON.stringify(f)).join(' ')}` },
    );
  }

  const year = now.getUTCFullYear();
  checks.push(
    year >= 2025 && year < 2100
      ? { name: 'clock', level: 'ok', detail: now.toISOString() }
      : { name: 'clock', level: 'fail', detail: `system time ${now.toISOString()} looks wrong`, hint: 'enable NTP (timedatectl set-ntp true); certificate and ollama signature checks depend on it' },
  );

  if (c.tls.mode === 'off') checks.push({ name: 'config', level: 'warn', detail: 'tls.mode is off: plain HTTP', hint: 'use tls.mode: local (default)' });
  if (c.tls.minVersion === '1.2') checks.push({ name: 'config', level: 'warn', detail: 'TLS 1.2 is enabled', hint: 'tls.minVersion: "1.3" unless an old client needs 1.2' });
  if (!c.audit.enabled) checks.push({ name: 'config', level: 'warn', detail: 'the audit log is off', hint: 'audit.enabled: true' });
  if (c.policy.allowAccountRoutes) checks.push({ name: 'config', level: 'warn', detail: 'account routes and cloud models are allowed' });
  if (c.policy.registries.includes('*')) checks.push({ name: 'config', level: 'warn', detail: 'policy.registries allows any host: models:manage keys can make Ollama connect anywhere', hint: 'list the registries you use' });
  const listen = parseListen(c.listen);
  if (!isLoopback(listen.host) && c.tls.clientAuth === 'off') checks.push({ name: 'config', level: 'ok', detail: `listening on ${c.listen} with API keys (mTLS off)` });
  return checks;
}

export function registerDoctorCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('doctor')
    .description('check the installation for common mistakes')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) => {
      const checks = await runChecks(cliContext(globals()));
      if (f.json) printJson(checks);
      else
        for (const ch of checks) {
          const mark = ch.level === 'ok' ? 'ok  ' : ch.level === 'warn' ? 'warn' : 'FAIL';
          say(`${mark}  ${ch.name}: ${ch.detail}`);
          if (ch.hint && ch.level !== 'ok') say(`      fix: ${ch.hint}`);
        }
      if (checks.some((ch) => ch.level === 'fail')) process.exitCode = 1;
    });
}
