// Free-form settings shared by instances (CRL number, …), in the table that also holds the
// schema version. The schema version is not writable through here.
import type { Kysely } from 'kysely';
import { ErrorCode, WardenError } from '../../errors.ts';
import type { Database } from '../kysely-schema.ts';
import { SCHEMA_VERSION_KEY } from '../migrations.ts';

export async function getMeta(db: Kysely<Database>, key: string): Promise<string | null> {
  const row = await db.selectFrom('warden_meta').select('value').where('key', '=', key).executeTakeFirst();
  return row ? row.value : null;
}

export async function setMeta(db: Kysely<Database>, key: string, value: string): Promise<void> {
  if (key === SCHEMA_VERSION_KEY) {
    throw new WardenError(ErrorCode.INTERNAL, `store: meta key ${SCHEMA_VERSION_KEY} is managed by migrations`);
  }
  await db
    .insertInto('warden_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}
