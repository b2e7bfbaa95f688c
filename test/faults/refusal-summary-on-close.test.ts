// Refusal floods are audited in summaries (audit/aggregate.ts); a summary still
// being counted when the server stops is written on close — to the file and to the store — so
// no refusal is lost. Only authentication refusals (writeRefusal) are aggregated.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/writer.ts';
import { addressPrefix, INDIVIDUAL, MAX_GROUPS, SUMMARY_REASON } from '../../src/audit/aggregate.ts';
import type { AuditEvent, AuditRepo } from '../../src/store/types.ts';

it('address prefixes: IPv4 /24, IPv6 /64, v4-mapped as IPv4', () => {
  assert.equal(addressPrefix('203.0.113.77'), '203.0.113.0/24');
  assert.equal(addressPrefix('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.equal(addressPrefix('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressPrefix('2001:0db8:0001:0002::9'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('::1'), '0:0:0:0::/64');
  assert.equal(addressPrefix(null), 'unknown');
});

it('summaries of the running second are written on close, to the file and the store; 400s are never aggregated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
  try {
    const stored: AuditEvent[] = [];
    const repo: AuditRepo = {
      async insert(events: readonly AuditEvent[]) {
        for (const e of events) if (!stored.some((s) => s.id === e.id)) stored.push(e);
      },
      query: () => Promise.resolve([]),
      prune: () => Promise.resolve(0),
    };
    const file = join(dir, 'audit.log');
    // A long flush interval: nothing but close() writes the summaries.
    const log = new AuditLog({ enabled: true, file, maxBytes: 1 << 20, keep: 1, repo, flushIntervalMs: 60_000 });
    for (let i = 0; i < 20; i++) log.writeRefusal({ kind: 'request', status: 401, reason: 'unknown key', clientAddress: `198.51.100.${i}` });
    for (let i = 0; i < 9; i++) log.writeRefusal({ kind: 'request', status: 401, reason: 'unknown key', clientAddress: `2001:db8:5:6::${i + 1}` });
    for (let i = 0; i < 12; i++) log.write({ kind: 'request', status: 400, reason: 'conflicting Content-Length', clientAddress: `198.51.100.${i}` });
    await log.close();

    type Line = { kind: string; status: number; reason: string; clientAddress: string };
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    const summaries = lines.filter((l) => l.kind === 'request.refused_summary');
    assert.equal(lines.filter((l) => l.kind === 'request' && l.status === 401).length, 2 * INDIVIDUAL);
    assert.equal(lines.filter((l) => l.kind === 'request' && l.status === 400).length, 12, 'every 400 on its own');
    assert.deepEqual(
      summaries.map((s) => [s.clientAddress, s.status, SUMMARY_REASON.exec(s.reason)?.[1], SUMMARY_REASON.exec(s.reason)?.[4]]),
      [
        ['198.51.100.0/24', 401, String(20 - INDIVIDUAL), 'unknown key'],
        ['2001:db8:5:6::/64', 401, String(9 - INDIVIDUAL), 'unknown key'],
      ],
    );
    assert.deepEqual(
      stored.filter((e) => e.kind === 'request.refused_summary').map((e) => e.reason),
      summaries.map((s) => s.reason),
    );
    assert.equal(stored.length, lines.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a flood from more prefixes than MAX_GROUPS (a new /24 per attempt) is counted under "*": rows stay bounded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
  try {
    const file = join(dir, 'audit.log');
    const log = new AuditLog({ enabled: true, file, maxBytes: 1 << 24, keep: 1, repo: null, flushIntervalMs: 60_000 });
    const n = MAX_GROUPS + 400;
    for (let i = 0; i < n; i++) log.writeRefusal({ kind: 'request', status: 401, reason: 'unknown key', clientAddress: `10.${i >> 8}.${i & 255}.7` });
    await log.close();
    type Line = { kind: string; status: number; reason: string; clientAddress: string };
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    const individual = lines.filter((l) => l.kind === 'request');
    const summaries = lines.filter((l) => l.kind === 'request.refused_summary');
    assert.equal(individual.length, MAX_GROUPS + INDIVIDUAL, 'one per tracked prefix, then a few from "many addresses"');
    assert.deepEqual(
      summaries.map((s) => [s.clientAddress, SUMMARY_REASON.exec(s.reason)?.[1]]),
      [['*', String(n - MAX_GROUPS - INDIVIDUAL)]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
