// `warden status`: asks the running server when one answers, else reads config and store
// (and says which). Same object as GET /_warden/api/status (docs/design.md §7).
import type { Command } from 'commander';
import { readCertStatus } from '../../tls/status.ts';
import { createUpstreams } from '../../proxy/upstreams.ts';
import { buildStatus, type StatusObject } from '../../server/status.ts';
import { keyState } from '../../store/types.ts';
import { cliContext, openStoreSession, type CliContext, type GlobalOptions } from '../context.ts';
import { queryRunningServer } from '../local-server.ts';
import { printFields, printJson } from '../output.ts';

async function offlineTls(ctx: CliContext): Promise<Record<string, unknown> | null> {
  if (ctx.config.tls.mode === 'off') return { certificate: null };
  try {
    return (await readCertStatus(ctx.config, ctx.dataDir)) as unknown as Record<string, unknown>;
  } catch {
    return { certificate: null };
  }
}

/** The status, and why it is not the server's own when the server did not give it. */
export async function collectStatus(ctx: CliContext): Promise<StatusObject & { serverNote?: string }> {
  const answer = await queryRunningServer(ctx.dataDir, '/_warden/api/status');
  if (answer.state === 'answered') return answer.body as StatusObject;
  const offline = await offlineStatus(ctx);
  // A server that is running but slow or stuck is not "not running": say which it is.
  return answer.state === 'no-answer' ? { ...offline, serverNote: `server pid ${answer.pid} is running but gave no answer: ${answer.detail}` } : offline;
}

async function offlineStatus(ctx: CliContext): Promise<StatusObject> {
  const session = await openStoreSession(ctx);
  try {
    const records = await session.store.keys.list();
    const counts = { active: 0, revoked: 0, expired: 0 };
    for (const r of records) counts[keyState(r)]++;
    const upstreams = createUpstreams(ctx.config.upstreams.length ? ctx.config.upstreams : [ctx.config.upstream], { probeTimeoutMs: 2000 });
    try {
      return await buildStatus({
        config: ctx.config,
        tls: null,
        tlsOffline: await offlineTls(ctx),
        upstreams,
        keys: { counts: () => counts },
        connections: null,
        startedAt: null,
        source: 'offline',
      });
    } finally {
      await upstreams.close();
    }
  } finally {
    await session.close();
  }
}

export function registerStatusCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('status')
    .description('TLS, certificate, upstream and key status')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) => {
      const s = await collectStatus(cliContext(globals()));
      if (f.json) return printJson(s);
      const cert = s.tls.certificate as { subject?: string; issuer?: string; notAfter?: string; fingerprint256?: string; daysLeft?: number } | null;
      printFields([
        ['source', s.source === 'server' ? 'running server' : `config and store (${s.serverNote ?? 'server not running'})`],
        ['listen', s.listen],
        ['TLS', s.tls.enabled ? `on (${s.tls.mode}), minimum TLS ${s.tls.minVersion}` : 'OFF (plain HTTP)'],
        ['mTLS', s.tls.clientAuth],
        ['certificate', cert ? `${cert.subject ?? ''}` : '-'],
        ['issuer', cert?.issuer ?? '-'],
        ['expires', cert ? `${cert.notAfter} (${cert.daysLeft} days)` : '-'],
        ['fingerprint', cert?.fingerprint256 ?? '-'],
        ['upstream', `${s.upstream.url} ${s.upstream.reachable ? `reachable, Ollama ${s.upstream.version ?? '?'}` : 'UNREACHABLE'}`],
        ['keys', `${s.keys.active} active, ${s.keys.revoked} revoked, ${s.keys.expired} expired`],
        ['connections', s.source === 'server' ? String(s.connections.live) : '-'],
        ['store', s.store === null ? '-' : s.store.reachable ? 'reachable' : `UNREACHABLE for ${s.store.unreachableSeconds} s${s.store.staleSeconds > s.store.maxStaleSeconds ? ' (refusing requests: key view older than store.maxStaleSeconds)' : ''}`],
      ]);
    });
}
