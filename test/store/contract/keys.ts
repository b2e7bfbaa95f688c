// Key records: every field survives the database, names are unique, missing ids are 404s.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/errors.ts';
import type { KeyPatch, KeyRecord } from '../../../src/store/types.ts';
import { at, newKey, type OpenStores } from './fixtures.ts';

export function keysContract(stores: OpenStores): void {
  void describe('keys', () => {
    const roundTrips: Array<[string, Parameters<typeof newKey>[0]]> = [
      ['every field set', {}],
      ['every optional field null and lists empty', { models: [], expiresAt: null, rpm: null, tpm: null, concurrency: null, certFingerprint: null, ollamaPubkeys: [], capNumCtx: null, capNumPredict: null, capKeepAlive: null }],
      ['caps at the 32-bit integer limit', { capNumCtx: 2_147_483_647, capNumPredict: 1, capKeepAlive: 2_147_483_647 }],
      ['every scope and unicode in the name', { name: 'clé 🔑 "quoted"', scopes: ['inference', 'models:read', 'models:manage', 'admin', 'metrics'] }],
    ];
    for (const [label, over] of roundTrips) {
      void it(`round-trips a key with ${label}`, async () => {
        const store = await stores.fresh();
        const input = newKey(over);
        const want: KeyRecord = { ...input, lastUsedAt: null, revokedAt: null, previousSecretHash: null, previousExpiresAt: null };
        assert.deepEqual(await store.keys.create(input), want, 'create returns the stored record');
        assert.deepEqual(await store.keys.get(input.id), want, 'get reads back every field');
        assert.deepEqual(await store.keys.list(), [want]);
      });
    }

    void it('refuses an ollama public key already registered on another key (409), on create and on update', async () => {
      const store = await stores.fresh();
      const a = await store.keys.create(newKey());
      const shared = a.ollamaPubkeys[0]!;
      // Spelled with a comment and extra spaces it is still the same key.
      await assert.rejects(store.keys.create(newKey({ ollamaPubkeys: [`${shared}  me@laptop`] })), (err: { code: string; message: string }) => {
        assert.equal(err.code, ErrorCode.CONFLICT);
        assert.match(err.message, new RegExp(`ollama public key .* already registered on key ${a.id}`));
        return true;
      });
      const b = await store.keys.create(newKey());
      await assert.rejects(store.keys.update(b.id, { ollamaPubkeys: [...b.ollamaPubkeys, shared] }), { code: ErrorCode.CONFLICT, status: 409 });
      assert.deepEqual((await store.keys.get(b.id))?.ollamaPubkeys, b.ollamaPubkeys, 'the refused update changed nothing');
      // The owner may keep (re-save) its own key; once it lets go, or is deleted, another may take it.
      await store.keys.update(a.id, { ollamaPubkeys: [shared], rpm: 3 });
      await store.keys.update(a.id, { ollamaPubkeys: [] });
      await store.keys.update(b.id, { ollamaPubkeys: [shared] });
      assert.equal(await store.keys.delete(b.id), true);
      await store.keys.create(newKey({ ollamaPubkeys: [shared] }));
    });

    void it('returns null for a key id that does not exist', async () => {
      const store = await stores.fresh();
      assert.equal(await store.keys.get('key_nope'), null);
    });

    void it('lists keys in creation order', async () => {
      const store = await stores.fresh();
      const b = newKey({ createdAt: at(2000) });
      const a = newKey({ createdAt: at(1000) });
      await store.keys.create(b);
      await store.keys.create(a);
      assert.deepEqual((await store.keys.list()).map((k) => k.id), [a.id, b.id]);
    });

    void it('refuses a second key with the same name (409) and keeps the first intact', async () => {
      const store = await stores.fresh();
      const first = await store.keys.create(newKey({ name: 'shared' }));
      const gen = await store.generation();
      await assert.rejects(store.keys.create(newKey({ name: 'shared' })), { code: ErrorCode.CONFLICT, status: 409 });
      assert.deepEqual(await store.keys.list(), [first]);
      assert.equal(await store.generation(), gen, 'a refused create does not bump the generation');
    });

    void it('refuses a second key with the same id (409)', async () => {
      const store = await stores.fresh();
      const first = await store.keys.create(newKey());
      await assert.rejects(store.keys.create(newKey({ id: first.id })), { code: ErrorCode.CONFLICT, status: 409 });
      assert.deepEqual(await store.keys.list(), [first]);
    });

    const patches: Array<[string, KeyPatch]> = [
      ['renames', { name: 'renamed' }],
      ['changes scopes and models', { scopes: ['admin'], models: [] }],
      ['rotates with a grace period', { secretHash: 'c'.repeat(64), previousSecretHash: 'a'.repeat(64), previousExpiresAt: at(60_000) }],
      ['revokes', { revokedAt: at(5000) }],
      ['clears limits and the expiry', { rpm: null, tpm: null, concurrency: null, expiresAt: null }],
      ['binds a cert and ollama keys', { certFingerprint: 'd'.repeat(64), ollamaPubkeys: ['ssh-ed25519 AAAA1', 'ssh-ed25519 AAAA2'] }],
      ['unbinds a cert and ollama keys', { certFingerprint: null, ollamaPubkeys: [] }],
      ['changes the caps', { capNumCtx: 2048, capNumPredict: 256, capKeepAlive: 60 }],
      ['clears one cap and keeps the others', { capNumCtx: null }],
      ['clears every cap', { capNumCtx: null, capNumPredict: null, capKeepAlive: null }],
    ];
    for (const [label, patch] of patches) {
      void it(`update ${label}, and only the patched fields change`, async () => {
        const store = await stores.fresh();
        const before = await store.keys.create(newKey());
        const want = { ...before, ...patch };
        assert.deepEqual(await store.keys.update(before.id, patch), want);
        assert.deepEqual(await store.keys.get(before.id), want);
      });
    }

    void it('update of a missing key throws NOT_FOUND (404)', async () => {
      const store = await stores.fresh();
      await assert.rejects(store.keys.update('key_missing', { rpm: 1 }), { code: ErrorCode.NOT_FOUND, status: 404 });
      await assert.rejects(store.keys.update('key_missing', {}), { code: ErrorCode.NOT_FOUND, status: 404 });
    });

    void it('update cannot rename a key onto another key\'s name (409)', async () => {
      const store = await stores.fresh();
      const a = await store.keys.create(newKey());
      const b = await store.keys.create(newKey());
      await assert.rejects(store.keys.update(b.id, { name: a.name }), { code: ErrorCode.CONFLICT, status: 409 });
      assert.equal((await store.keys.get(b.id))?.name, b.name);
      // Renaming a key to its own name is not a conflict.
      assert.equal((await store.keys.update(a.id, { name: a.name })).name, a.name);
    });

    void it('delete removes the key once', async () => {
      const store = await stores.fresh();
      const k = await store.keys.create(newKey());
      assert.equal(await store.keys.delete(k.id), true);
      assert.equal(await store.keys.get(k.id), null);
      assert.equal(await store.keys.delete(k.id), false);
    });

    void it('touch stamps last use, only forwards, and ignores unknown ids', async () => {
      const store = await stores.fresh();
      const a = await store.keys.create(newKey());
      const b = await store.keys.create(newKey());
      await store.keys.touch(new Map([[a.id, at(10_000)], ['key_unknown', at(10_000)]]));
      assert.deepEqual((await store.keys.get(a.id))?.lastUsedAt, at(10_000));
      assert.equal((await store.keys.get(b.id))?.lastUsedAt, null);
      // A late batch from another instance must not move the stamp back.
      await store.keys.touch(new Map([[a.id, at(5_000)], [b.id, at(7_000)]]));
      assert.deepEqual((await store.keys.get(a.id))?.lastUsedAt, at(10_000));
      assert.deepEqual((await store.keys.get(b.id))?.lastUsedAt, at(7_000));
      await store.keys.touch(new Map());
    });
  });
}
