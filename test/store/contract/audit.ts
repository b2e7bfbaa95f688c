// Audit events: every field survives, queries are newest first, filtered, paged and bounded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent, AuditQuery } from '../../../src/store/types.ts';
import { at, auditEvent, type OpenStores } from './fixtures.ts';

export function auditContract(stores: OpenStores): void {
  void describe('audit', () => {
    void it('round-trips every field of an event, and an event with every optional field null', async () => {
      const store = await stores.fresh();
      const full = auditEvent();
      const bare: AuditEvent = {
        time: at(9_000_000), id: 'mgmt_1', kind: 'key.create', keyId: null, keyName: null, authMethod: null,
        clientAddress: null, tlsVersion: null, clientCertSubject: null, method: null, path: null, model: null,
        status: null, durationMs: null, bytesIn: null, bytesOut: null, promptTokens: null, evalTokens: null,
        reason: 'created key alice', actor: 'cli',
      };
      await store.audit.insert([full, bare]);
      assert.deepEqual(await store.audit.query({}), [bare, full]);
    });

    void it('inserts idempotently by event id: a retried batch stores each event once', async () => {
      const store = await stores.fresh();
      const a = auditEvent({ time: at(1000), id: 'dup_a' });
      const b = auditEvent({ time: at(2000), id: 'dup_b' });
      await store.audit.insert([a]);
      await store.audit.insert([a, b]);
      await store.audit.insert([b, a, b]);
      assert.deepEqual((await store.audit.query({})).map((x) => x.id), ['dup_b', 'dup_a']);
    });

    void it('inserting no events is a no-op', async () => {
      const store = await stores.fresh();
      await store.audit.insert([]);
      assert.deepEqual(await store.audit.query({}), []);
    });

    // Six events, one second apart, oldest first: e[0] … e[5].
    const e = [
      auditEvent({ time: at(1000), id: 'r0', keyId: 'key_a', status: 200, path: '/api/chat', kind: 'request' }),
      auditEvent({ time: at(2000), id: 'r1', keyId: 'key_b', status: 401, path: '/api/tags', kind: 'request' }),
      auditEvent({ time: at(3000), id: 'r2', keyId: 'key_a', status: 403, path: '/api/pull', kind: 'request' }),
      auditEvent({ time: at(4000), id: 'r3', keyId: null, status: 502, path: '/v1/chat/completions', kind: 'request' }),
      auditEvent({ time: at(5000), id: 'r4', keyId: 'key_a', status: null, path: null, kind: 'key.revoke' }),
      auditEvent({ time: at(6000), id: 'r5', keyId: 'key_b', status: 204, path: '/api_%x', kind: 'request' }),
    ];
    const ids = (xs: AuditEvent[]) => xs.map((x) => x.id);
    const filters: Array<[string, AuditQuery, string[]]> = [
      ['no filter: newest first', {}, ['r5', 'r4', 'r3', 'r2', 'r1', 'r0']],
      ['keyId', { keyId: 'key_a' }, ['r4', 'r2', 'r0']],
      ['statusClass 2', { statusClass: 2 }, ['r5', 'r0']],
      ['statusClass 4', { statusClass: 4 }, ['r2', 'r1']],
      ['statusClass 5', { statusClass: 5 }, ['r3']],
      ['pathPrefix', { pathPrefix: '/api/' }, ['r2', 'r1', 'r0']],
      ['pathPrefix with LIKE wildcards taken literally', { pathPrefix: '/api_%' }, ['r5']],
      ['pathPrefix is case-sensitive', { pathPrefix: '/API/' }, []],
      ['kind', { kind: 'key.revoke' }, ['r4']],
      ['since (inclusive)', { since: at(5000) }, ['r5', 'r4']],
      ['until (inclusive)', { until: at(2000) }, ['r1', 'r0']],
      ['before (exclusive)', { before: at(3000) }, ['r1', 'r0']],
      ['limit', { limit: 2 }, ['r5', 'r4']],
      ['filters combined', { keyId: 'key_a', statusClass: 4, since: at(1000), until: at(6000) }, ['r2']],
    ];
    for (const [label, q, want] of filters) {
      void it(`query by ${label}`, async () => {
        const store = await stores.fresh();
        await store.audit.insert(e);
        assert.deepEqual(ids(await store.audit.query(q)), want);
      });
    }

    void it('pages through every event with `before`, without gaps or repeats', async () => {
      const store = await stores.fresh();
      const events = Array.from({ length: 25 }, (_, i) => auditEvent({ time: at(i * 1000), id: `p${i}` }));
      await store.audit.insert(events);
      const seen: string[] = [];
      let before: Date | undefined;
      for (;;) {
        const page = await store.audit.query({ limit: 10, ...(before ? { before } : {}) });
        if (page.length === 0) break;
        seen.push(...ids(page));
        before = page.at(-1)?.time;
      }
      assert.deepEqual(seen, events.map((x) => x.id).reverse());
    });

    void it('returns 100 events by default and never more than 1000', async () => {
      const store = await stores.fresh();
      await store.audit.insert(Array.from({ length: 1100 }, (_, i) => auditEvent({ time: at(i), id: `b${i}` })));
      assert.equal((await store.audit.query({})).length, 100);
      assert.equal((await store.audit.query({ limit: 1_000_000 })).length, 1000);
      assert.equal((await store.audit.query({ limit: 0 })).length, 1, 'a limit below 1 is raised to 1');
    });

    void it('prune deletes events older than the cut-off and says how many', async () => {
      const store = await stores.fresh();
      await store.audit.insert(e);
      assert.equal(await store.audit.prune(at(3000)), 2);
      assert.deepEqual(ids(await store.audit.query({})), ['r5', 'r4', 'r3', 'r2']);
      assert.equal(await store.audit.prune(at(0)), 0);
    });
  });
}
