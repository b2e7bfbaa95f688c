// The change generation: one row that every key or client-cert mutation bumps inside its own
// transaction. Other processes and instances poll it (a primary-key read) and reload their key
// cache when it moves, which is how a revocation reaches every instance within a second.
// Last-used stamps and audit rows do not bump it: they are not policy changes, and bumping on
// every request would make every instance reload its cache all the time.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './kysely-schema.ts';
import { int } from './row-mapping.ts';

/** Bumps the generation and returns the new value. The row lock it takes (PostgreSQL) orders
 *  concurrent changes, so a reader that sees generation G also sees every change stamped ≤ G. */
export async function bumpGeneration(trx: Transaction<Database>): Promise<number> {
  const row = await trx
    .updateTable('warden_generation')
    .set({ value: sql<number>`value + 1` })
    .where('id', '=', 1)
    .returning('value')
    .executeTakeFirstOrThrow();
  return int(row.value);
}

export async function readGeneration(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('warden_generation').select('value').where('id', '=', 1).executeTakeFirstOrThrow();
  return int(row.value);
}
