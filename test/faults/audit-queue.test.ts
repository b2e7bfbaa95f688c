// The audit writer's queue for the store is bounded, and what overflows is counted, never
// re-appended to the file; a failing store gets every waiting event once, when it is back.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/writer.ts';
import type { AuditEvent, AuditRepo } from '../../src/store/types.ts';

it('a failing store: bounded queue, overflow counted, each event once in the file and once in the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
  try {
    let up = false;
    const stored: string[] = [];
    const errors: unknown[] = [];
    const recovered: string[] = [];
    const repo: AuditRepo = {
      async insert(events: readonly AuditEvent[]) {
        if (!up) throw new Error('connection refused');
        for (const e of events) if (!stored.includes(e.id)) stored.push(e.id);
      },
      query: () => Promise.resolve([]),
      prune: () => Promise.resolve(0),
    };
    const file = join(dir, 'audit.log');
    const log = new AuditLog({ enabled: true, file, maxBytes: 1 << 20, keep: 1, repo, maxQueued: 5, flushIntervalMs: 10, onError: (e) => errors.push(e), onRecovered: (s) => recovered.push(s) });
    for (let i = 0; i < 8; i++) log.write({ kind: 'request', id: `e${i}`, path: '/api/chat' });
    // In the file at once, before any flush.
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
    for (let i = 0; i < 5; i++) await log.flush();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(log.stats(), { storeQueued: 5, fileQueued: 0, dropped: { file: 0, store: 3 } });
    assert.equal(errors.length, 1, 'the failure is reported once, not per retry');
    up = true;
    const deadline = Date.now() + 15_000;
    while (log.stats().storeQueued > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(stored, ['e3', 'e4', 'e5', 'e6', 'e7']);
    assert.deepEqual(recovered, ['store']);
    await log.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 8, 'retries never re-append to the file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
