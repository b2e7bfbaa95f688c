// Client certificates Warden issued, so `warden cert client revoke NAME|SERIAL` can find them
// and the CRL can list the revoked ones. Adds and revocations bump the change generation: the
// listener rebuilds its CRL when it moves, also in other instances.
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import { ErrorCode, WardenError } from '../../errors.ts';
import { isUniqueViolation } from '../db-errors.ts';
import { bumpGeneration } from '../generation.ts';
import { looksLikeSerial, normalizeSerial } from '../serial.ts';
import type { Database } from '../kysely-schema.ts';
import { certFromRow, certToRow, ms } from '../row-mapping.ts';
import type { ClientCertRecord, ClientCertRepo } from '../types.ts';

export function clientCertRepo(db: Kysely<Database>): ClientCertRepo {
  return {
    async add(c) {
      const row = certToRow({ ...c, serial: normalizeSerial(c.serial) });
      try {
        return await db.transaction().execute(async (trx) => {
          await trx.insertInto('warden_client_certs').values(row).execute();
          await bumpGeneration(trx);
          return mustGet(trx, row.serial);
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new WardenError(ErrorCode.CONFLICT, `a client certificate with serial ${row.serial} or the same fingerprint already exists`, {
            cause: err,
          });
        }
        throw err;
      }
    },

    async list() {
      const rows = await db.selectFrom('warden_client_certs').selectAll().orderBy('created_at').orderBy('serial').execute();
      return rows.map(certFromRow);
    },

    async find(nameOrSerial) {
      // Only serial-shaped text is looked up as a serial: normalising drops every non-hex
      // character, and a name like "web-01" must not turn into the serial "eb01".
      const bySerial = looksLikeSerial(nameOrSerial)
        ? await db.selectFrom('warden_client_certs').selectAll().where('serial', '=', normalizeSerial(nameOrSerial)).executeTakeFirst()
        : undefined;
      if (bySerial) return certFromRow(bySerial);
      // A name can be issued again after a revocation: the one still in force wins, then the newest.
      const byName = await db
        .selectFrom('warden_client_certs')
        .selectAll()
        .where('name', '=', nameOrSerial)
        .orderBy(sql`case when revoked_at is null then 0 else 1 end`)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      return byName ? certFromRow(byName) : null;
    },

    async revoke(serial, reason, at = new Date()) {
      const s = normalizeSerial(serial);
      return db.transaction().execute(async (trx) => {
        const current = await mustGet(trx, s);
        // Revoking twice keeps the first time and reason: the CRL must not change its history.
        if (current.revokedAt) return current;
        await trx
          .updateTable('warden_client_certs')
          .set({ revoked_at: ms(at), revocation_reason: reason })
          .where('serial', '=', s)
          .execute();
        await bumpGeneration(trx);
        return mustGet(trx, s);
      });
    },
  };
}

async function mustGet(trx: Transaction<Database>, serial: string): Promise<ClientCertRecord> {
  const row = await trx.selectFrom('warden_client_certs').selectAll().where('serial', '=', serial).executeTakeFirst();
  if (!row) throw new WardenError(ErrorCode.NOT_FOUND, `client certificate ${serial} not found`);
  return certFromRow(row);
}
