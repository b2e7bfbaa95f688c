// Client certificates: found by name or serial, revoked once, listed for the CRL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/errors.ts';
import { at, clientCert, type OpenStores } from './fixtures.ts';

export function clientCertContract(stores: OpenStores): void {
  void describe('client certificates', () => {
    void it('add, list and find by serial or name round-trip every field', async () => {
      const store = await stores.fresh();
      const input = clientCert();
      const want = { ...input, revokedAt: null, revocationReason: null };
      assert.deepEqual(await store.clientCerts.add(input), want);
      assert.deepEqual(await store.clientCerts.list(), [want]);
      assert.deepEqual(await store.clientCerts.find(input.serial), want);
      assert.deepEqual(await store.clientCerts.find(input.name), want);
      assert.equal(await store.clientCerts.find('nobody'), null);
    });

    void it('finds a serial pasted in upper case with colons, with or without leading zeros', async () => {
      const store = await stores.fresh();
      const c = await store.clientCerts.add(clientCert({ serial: '0a1bff01' }));
      assert.equal(c.serial, 'a1bff01', 'stored in the one spelling the CRL and the verifier use');
      for (const pasted of ['0A:1B:FF:01', '00:0a:1b:ff:01', 'A1BFF01', 'a1 bf f0 1']) {
        assert.equal((await store.clientCerts.find(pasted))?.serial, c.serial, pasted);
      }
      assert.equal((await store.clientCerts.revoke('0A:1B:FF:01', 'keyCompromise')).serial, c.serial);
    });

    void it('a name is never read as a serial', async () => {
      const store = await stores.fresh();
      await store.clientCerts.add(clientCert({ serial: 'eb01' }));
      assert.equal(await store.clientCerts.find('web-01'), null, '"web-01" minus its non-hex characters is "eb01"');
    });

    void it('refuses a duplicate serial or fingerprint (409)', async () => {
      const store = await stores.fresh();
      const c = await store.clientCerts.add(clientCert());
      await assert.rejects(store.clientCerts.add(clientCert({ serial: c.serial })), { code: ErrorCode.CONFLICT, status: 409 });
      await assert.rejects(store.clientCerts.add(clientCert({ fingerprint: c.fingerprint })), { code: ErrorCode.CONFLICT, status: 409 });
      assert.equal((await store.clientCerts.list()).length, 1);
    });

    void it('revoke records time and reason once; a second revoke keeps the first', async () => {
      const store = await stores.fresh();
      const c = await store.clientCerts.add(clientCert());
      const revoked = await store.clientCerts.revoke(c.serial, 'keyCompromise', at(1000));
      assert.deepEqual(revoked, { ...c, revokedAt: at(1000), revocationReason: 'keyCompromise' });
      assert.deepEqual(await store.clientCerts.revoke(c.serial, 'superseded', at(2000)), revoked);
      assert.deepEqual(await store.clientCerts.find(c.serial), revoked);
    });

    void it('revoke of an unknown serial throws NOT_FOUND (404)', async () => {
      const store = await stores.fresh();
      await assert.rejects(store.clientCerts.revoke('ffff', 'x'), { code: ErrorCode.NOT_FOUND, status: 404 });
    });

    void it('find by name prefers the certificate still in force after a re-issue', async () => {
      const store = await stores.fresh();
      const old = await store.clientCerts.add(clientCert({ name: 'laptop', createdAt: at(1) }));
      const current = await store.clientCerts.add(clientCert({ name: 'laptop', createdAt: at(2) }));
      await store.clientCerts.revoke(current.serial, 'superseded');
      assert.equal((await store.clientCerts.find('laptop'))?.serial, old.serial, 'the unrevoked one, though older');
      await store.clientCerts.revoke(old.serial, 'superseded');
      assert.equal((await store.clientCerts.find('laptop'))?.serial, current.serial, 'all revoked: the newest');
    });
  });
}
