// Shared settings, and the schema version they must not be able to overwrite.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OpenStores } from './fixtures.ts';

export function metaContract(stores: OpenStores): void {
  void describe('meta and lifecycle', () => {
    void it('getMeta/setMeta store, overwrite and read back values', async () => {
      const store = await stores.fresh();
      assert.equal(await store.getMeta('crl_number'), null);
      await store.setMeta('crl_number', '1');
      await store.setMeta('crl_number', '2');
      assert.equal(await store.getMeta('crl_number'), '2');
    });

    void it('setMeta refuses to overwrite the schema version', async () => {
      const store = await stores.fresh();
      await assert.rejects(store.setMeta('schema_version', '999'));
      assert.notEqual(await store.getMeta('schema_version'), '999');
    });

    void it('reopening keeps the data, and close may be called twice', async () => {
      const target = await stores.freshTarget();
      const first = await target.open();
      await first.setMeta('x', 'y');
      await first.close();
      await first.close();
      const second = await target.open();
      assert.equal(await second.getMeta('x'), 'y');
    });
  });
}
