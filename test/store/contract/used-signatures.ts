// Used CLI signatures: one atomic insert-if-absent shared by every connection, pruned by expiry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OpenStores } from './fixtures.ts';

export function usedSignaturesContract(stores: OpenStores): void {
  void describe('used signatures', () => {
    void it('claims a signature once; another connection sees it used, with the first use time', async () => {
      const target = await stores.freshTarget();
      const a = await target.open();
      const b = await target.open();
      assert.deepEqual(await a.usedSignatures.claim('AAAA:sig1', 1000, 1300), { fresh: true, firstSeen: 1000 });
      assert.deepEqual(await b.usedSignatures.claim('AAAA:sig1', 1005, 1300), { fresh: false, firstSeen: 1000 });
      assert.deepEqual(await a.usedSignatures.claim('AAAA:sig1', 1010, 1300), { fresh: false, firstSeen: 1000 });
      assert.deepEqual(await b.usedSignatures.claim('AAAA:sig2', 1010, 1310), { fresh: true, firstSeen: 1010 });
    });

    void it('of many connections racing on one signature, exactly one wins', async () => {
      const target = await stores.freshTarget();
      const conns = [await target.open(), await target.open(), await target.open()];
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => conns[i % conns.length]!.usedSignatures.claim('AAAA:race', 1000 + i, 1300)));
      assert.equal(results.filter((r) => r.fresh).length, 1);
    });

    void it('prunes only signatures whose window has passed', async () => {
      const store = await stores.fresh();
      await store.usedSignatures.claim('AAAA:old', 1000, 1300);
      await store.usedSignatures.claim('AAAA:new', 1200, 1500);
      assert.equal(await store.usedSignatures.prune(1300), 0);
      assert.equal(await store.usedSignatures.prune(1301), 1);
      assert.equal((await store.usedSignatures.claim('AAAA:new', 1400, 1500)).fresh, false);
      assert.equal((await store.usedSignatures.claim('AAAA:old', 1400, 1300)).fresh, true, 'a pruned signature is forgotten');
    });
  });
}
