// `warden reload` (through the admin API), SIGHUP and the admin API's reload: the keys and the
// client-certificate revocations are re-read now instead of at the next poll, and the reload
// is audited with who asked for it.
import type { KeyCache } from '../auth/key-cache.ts';
import type { AuditLog } from '../audit/writer.ts';
import type { TlsManager } from '../tls/manager.ts';

/** Returns what was re-read, for the answer and the log line. */
export async function reloadNow(keys: KeyCache, tls: TlsManager | null, audit: AuditLog, actor: string): Promise<string[]> {
  const reloaded = ['keys'];
  await keys.refresh(true);
  if (tls) {
    await tls.refreshRevocations();
    reloaded.push('client certificate revocations');
  }
  audit.write({ kind: 'config.reload', actor, reason: reloaded.join(', ') });
  return reloaded;
}
