// API key records. Every mutation bumps the change generation in the same transaction and stamps
// the row (or a tombstone, for a delete) with it, so an instance that sees the new generation also
// sees the change, and can fetch only the rows changed since the generation it holds. Names are
// unique: the CLI and UI address keys by name as well as by id. So is every ollama CLI public key:
// it identifies the caller, and one signature must map to one key.
import type { Kysely, Transaction } from 'kysely';
import { ErrorCode, WardenError } from '../../errors.ts';
import { isUniqueViolation } from '../db-errors.ts';
import { bumpGeneration, readGeneration } from '../generation.ts';
import type { Database } from '../kysely-schema.ts';
import { keyFromRow, keyPatchToRow, ms, newKeyToRow } from '../row-mapping.ts';
import type { KeyRecord, KeyRepo } from '../types.ts';

export function keyRepo(db: Kysely<Database>): KeyRepo {
  const list = async (): Promise<KeyRecord[]> => {
    const rows = await db.selectFrom('warden_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(keyFromRow);
  };
  return {
    async create(k) {
      try {
        return await db.transaction().execute(async (trx) => {
          await assertNameFree(trx, k.name, null);
          await assertPubkeysFree(trx, k.ollamaPubkeys, k.id);
          const gen = await bumpGeneration(trx);
          await trx.insertInto('warden_keys').values({ ...newKeyToRow(k), changed_gen: gen }).execute();
          await trx.deleteFrom('warden_key_deletions').where('id', '=', k.id).execute();
          await claimPubkeys(trx, k.id, k.ollamaPubkeys);
          return mustGet(trx, k.id);
        });
      } catch (err) {
        // Two instances racing on PostgreSQL: the unique indexes are the final word.
        if (isUniqueViolation(err)) throw conflict(`a key named "${k.name}", with id ${k.id} or with one of these ollama public keys already exists`, err);
        throw err;
      }
    },

    async get(id) {
      const row = await db.selectFrom('warden_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? keyFromRow(row) : null;
    },

    list,

    async changesSince(since) {
      // The generation is read first: every change stamped ≤ it has committed, so the queries
      // below see it. A change committed in between may show up too (stamped > generation); it is
      // fetched again next time, which is harmless.
      const generation = await readGeneration(db);
      if (since < 0) return { generation, full: true, changed: await list(), deleted: [] };
      const rows = await db.selectFrom('warden_keys').selectAll().where('changed_gen', '>', since).orderBy('created_at').orderBy('id').execute();
      const gone = await db.selectFrom('warden_key_deletions').select('id').where('gen', '>', since).execute();
      return { generation, full: false, changed: rows.map(keyFromRow), deleted: gone.map((r) => r.id) };
    },

    async update(id, patch) {
      const row = keyPatchToRow(patch);
      try {
        return await db.transaction().execute(async (trx) => {
          if (Object.keys(row).length === 0) return mustGet(trx, id);
          if (row.name !== undefined) await assertNameFree(trx, row.name, id);
          if (patch.ollamaPubkeys !== undefined) await assertPubkeysFree(trx, patch.ollamaPubkeys, id);
          const gen = await bumpGeneration(trx);
          const res = await trx.updateTable('warden_keys').set({ ...row, changed_gen: gen }).where('id', '=', id).executeTakeFirst();
          if (res.numUpdatedRows === 0n) throw keyNotFound(id);
          if (patch.ollamaPubkeys !== undefined) {
            await trx.deleteFrom('warden_ollama_pubkeys').where('key_id', '=', id).execute();
            await claimPubkeys(trx, id, patch.ollamaPubkeys);
          }
          return mustGet(trx, id);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`a key named "${String(row.name)}" or with one of these ollama public keys already exists`, err);
        throw err;
      }
    },

    async delete(id) {
      return db.transaction().execute(async (trx) => {
        const res = await trx.deleteFrom('warden_keys').where('id', '=', id).executeTakeFirst();
        if (res.numDeletedRows === 0n) return false;
        const gen = await bumpGeneration(trx);
        await trx.deleteFrom('warden_ollama_pubkeys').where('key_id', '=', id).execute();
        // One small row per deleted key (ids are never reused), so that caches reloading
        // incrementally learn of the deletion.
        await trx.insertInto('warden_key_deletions').values({ id, gen }).execute();
        return true;
      });
    },

    async touch(stamps) {
      if (stamps.size === 0) return;
      // One transaction for the batch: one fsync instead of one per key. Only ever moves the
      // stamp forward, so batches from several instances arriving out of order do no harm.
      await db.transaction().execute(async (trx) => {
        for (const [id, at] of stamps) {
          const t = ms(at);
          await trx
            .updateTable('warden_keys')
            .set({ last_used_at: t })
            .where('id', '=', id)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', t)]))
            .execute();
        }
      });
    },
  };
}

async function mustGet(trx: Transaction<Database>, id: string): Promise<KeyRecord> {
  const row = await trx.selectFrom('warden_keys').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw keyNotFound(id);
  return keyFromRow(row);
}

async function assertNameFree(trx: Transaction<Database>, name: string, exceptId: string | null): Promise<void> {
  let q = trx.selectFrom('warden_keys').select('id').where('name', '=', name);
  if (exceptId !== null) q = q.where('id', '!=', exceptId);
  if (await q.executeTakeFirst()) throw conflict(`a key named "${name}" already exists`);
}

/** The base64 ssh-wire blob of a stored `ssh-ed25519 AAAA…` line: what a signature names. */
export function ollamaBlobOf(text: string): string {
  return text.trim().split(/\s+/)[1] ?? '';
}

async function assertPubkeysFree(trx: Transaction<Database>, pubkeys: readonly string[], ownId: string): Promise<void> {
  const blobs = [...new Set(pubkeys.map(ollamaBlobOf).filter(Boolean))];
  if (blobs.length === 0) return;
  const taken = await trx.selectFrom('warden_ollama_pubkeys').select(['blob', 'key_id']).where('blob', 'in', blobs).where('key_id', '!=', ownId).executeTakeFirst();
  if (taken) {
    throw conflict(`ollama public key ssh-ed25519 ${taken.blob.slice(0, 24)}… is already registered on key ${taken.key_id}; one ollama public key can belong to one key only`);
  }
}

async function claimPubkeys(trx: Transaction<Database>, id: string, pubkeys: readonly string[]): Promise<void> {
  for (const blob of new Set(pubkeys.map(ollamaBlobOf).filter(Boolean))) {
    await trx.insertInto('warden_ollama_pubkeys').values({ blob, key_id: id }).execute();
  }
}

function keyNotFound(id: string): WardenError {
  return new WardenError(ErrorCode.NOT_FOUND, `key ${id} not found`);
}

function conflict(message: string, cause?: unknown): WardenError {
  return new WardenError(ErrorCode.CONFLICT, message, { cause });
}
