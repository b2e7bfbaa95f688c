// The change generation: how other instances learn, within a poll, that keys or certs changed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../../src/store/types.ts';
import { auditEvent, clientCert, newKey, type OpenStores } from './fixtures.ts';

type Step = (s: Store, ids: { key: string; serial: string }) => Promise<unknown>;

export function generationContract(stores: OpenStores): void {
  void describe('change generation', () => {
    async function seeded() {
      const store = await stores.fresh();
      const key = (await store.keys.create(newKey())).id;
      const serial = (await store.clientCerts.add(clientCert())).serial;
      return { store, ids: { key, serial } };
    }

    const bumps: Array<[string, Step]> = [
      ['keys.create', (s) => s.keys.create(newKey())],
      ['keys.update', (s, ids) => s.keys.update(ids.key, { rpm: 7 })],
      ['keys.update (revoke)', (s, ids) => s.keys.update(ids.key, { revokedAt: new Date() })],
      ['keys.delete', (s, ids) => s.keys.delete(ids.key)],
      ['clientCerts.add', (s) => s.clientCerts.add(clientCert())],
      ['clientCerts.revoke', (s, ids) => s.clientCerts.revoke(ids.serial, 'keyCompromise')],
    ];
    for (const [label, step] of bumps) {
      void it(`${label} bumps the generation`, async () => {
        const { store, ids } = await seeded();
        const before = await store.generation();
        await step(store, ids);
        assert.ok((await store.generation()) > before, `${label}: generation did not move from ${before}`);
      });
    }

    const quiet: Array<[string, Step]> = [
      ['keys.touch', (s, ids) => s.keys.touch(new Map([[ids.key, new Date()]]))],
      ['audit.insert', (s) => s.audit.insert([auditEvent()])],
      ['setMeta', (s) => s.setMeta('crl_number', '7')],
      ['keys.delete of a missing key', (s) => s.keys.delete('key_missing')],
      ['a failed keys.update', (s) => s.keys.update('key_missing', { rpm: 1 }).catch(() => {})],
    ];
    for (const [label, step] of quiet) {
      void it(`${label} leaves the generation alone`, async () => {
        const { store, ids } = await seeded();
        const before = await store.generation();
        await step(store, ids);
        assert.equal(await store.generation(), before);
      });
    }

    void it('a change through one connection is seen through another', async () => {
      const target = await stores.freshTarget();
      const writer = await target.open();
      const poller = await target.open();
      const before = await poller.generation();
      const k = await writer.keys.create(newKey());
      assert.ok((await poller.generation()) > before, 'poller sees the new generation');
      assert.deepEqual(await poller.keys.get(k.id), k, 'and the key behind it');
      const mid = await poller.generation();
      await writer.keys.update(k.id, { revokedAt: new Date() });
      assert.ok((await poller.generation()) > mid, 'poller sees the revocation generation');
      assert.ok((await poller.keys.get(k.id))?.revokedAt, 'and the revocation');
    });
  });
}
