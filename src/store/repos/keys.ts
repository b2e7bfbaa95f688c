// API key records. Every mutation bumps the change generation in the same transaction, so an
// instance that sees the new generation also sees the change. Names are unique: the CLI and UI
// address keys by name as well as by id.
import type { Kysely, Transaction } from 'kysely';
import { ErrorCode, WardenError } from '../../errors.ts';
import { isUniqueViolation } from '../db-errors.ts';
import { bumpGeneration } from '../generation.ts';
import type { Database } from '../kysely-schema.ts';
import { keyFromRow, keyPatchToRow, ms, newKeyToRow } from '../row-mapping.ts';
import type { KeyRecord, KeyRepo } from '../types.ts';

export function keyRepo(db: Kysely<Database>): KeyRepo {
  return {
    async create(k) {
      try {
        return await db.transaction().execute(async (trx) => {
          await assertNameFree(trx, k.name, null);
          await trx.insertInto('warden_keys').values(newKeyToRow(k)).execute();
          await bumpGeneration(trx);
          return mustGet(trx, k.id);
        });
      } catch (err) {
        // Two instances racing on PostgreSQL: the unique index is the final word.
        if (isUniqueViolation(err)) throw conflict(`a key named "${k.name}" or with id ${k.id} already exists`, err);
        throw err;
      }
    },

    async get(id) {
      const row = await db.selectFrom('warden_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? keyFromRow(row) : null;
    },

    async list() {
      const rows = await db.selectFrom('warden_keys').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(keyFromRow);
    },

    async update(id, patch) {
      const row = keyPatchToRow(patch);
      try {
        return await db.transaction().execute(async (trx) => {
          if (Object.keys(row).length === 0) return mustGet(trx, id);
          if (row.name !== undefined) await assertNameFree(trx, row.name, id);
          const res = await trx.updateTable('warden_keys').set(row).where('id', '=', id).executeTakeFirst();
          if (res.numUpdatedRows === 0n) throw keyNotFound(id);
          await bumpGeneration(trx);
          return mustGet(trx, id);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`a key named "${String(row.name)}" already exists`, err);
        throw err;
      }
    },

    async delete(id) {
      return db.transaction().execute(async (trx) => {
        const res = await trx.deleteFrom('warden_keys').where('id', '=', id).executeTakeFirst();
        if (res.numDeletedRows === 0n) return false;
        await bumpGeneration(trx);
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

function keyNotFound(id: string): WardenError {
  return new WardenError(ErrorCode.NOT_FOUND, `key ${id} not found`, { status: 404 });
}

function conflict(message: string, cause?: unknown): WardenError {
  return new WardenError(ErrorCode.CONFLICT, message, { status: 409, cause });
}
