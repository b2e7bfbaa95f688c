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

    void it('changesSince returns only what changed after a generation: created, updated and deleted keys', async () => {
      const target = await stores.freshTarget();
      const writer = await target.open();
      const poller = await target.open();
      const keep = await writer.keys.create(newKey());
      const gone = await writer.keys.create(newKey());
      const all = await poller.keys.changesSince(-1);
      assert.equal(all.full, true);
      assert.deepEqual(all.changed.map((k) => k.id).sort(), [keep.id, gone.id].sort());
      assert.equal(all.generation, await poller.generation());

      const quiet = await poller.keys.changesSince(all.generation);
      assert.deepEqual([quiet.full, quiet.changed, quiet.deleted, quiet.generation], [false, [], [], all.generation]);

      await writer.keys.touch(new Map([[keep.id, new Date()]]));
      assert.deepEqual((await poller.keys.changesSince(all.generation)).changed, [], 'a last-used stamp is not a change');

      const added = await writer.keys.create(newKey());
      const revoked = await writer.keys.update(keep.id, { revokedAt: new Date() });
      assert.equal(await writer.keys.delete(gone.id), true);
      const delta = await poller.keys.changesSince(all.generation);
      assert.equal(delta.full, false);
      assert.deepEqual(delta.changed.map((k) => k.id).sort(), [added.id, keep.id].sort());
      assert.deepEqual(delta.changed.find((k) => k.id === keep.id), revoked);
      assert.deepEqual(delta.deleted, [gone.id]);
      assert.equal(delta.generation, await poller.generation());
      const after = await poller.keys.changesSince(delta.generation);
      assert.deepEqual([after.changed, after.deleted], [[], []]);
    });
  });
}
