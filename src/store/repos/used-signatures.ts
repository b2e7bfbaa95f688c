// CLI signatures already accepted (docs/design.md §3 replay protection), shared by every instance on the
// store and kept across restarts. A row lives until its signature's timestamp has
// left the skew window — after that the clock check refuses the signature anyway — and is pruned.
// `claim` is one insert-if-absent, so two instances racing on the same signature cannot both win.
import type { Kysely } from 'kysely';
import type { Database } from '../kysely-schema.ts';
import { int } from '../row-mapping.ts';
import type { UsedSignatureRepo } from '../types.ts';

export function usedSignatureRepo(db: Kysely<Database>): UsedSignatureRepo {
  return {
    async claim(id, nowSeconds, expiresAtSeconds) {
      const inserted = await db
        .insertInto('warden_used_signatures')
        .values({ id, first_seen: nowSeconds, expires_at: expiresAtSeconds })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) return { fresh: true, firstSeen: nowSeconds };
      const row = await db.selectFrom('warden_used_signatures').select('first_seen').where('id', '=', id).executeTakeFirst();
      // Pruned between the two statements: it had expired, so it was used before all the same.
      return { fresh: false, firstSeen: row ? int(row.first_seen) : nowSeconds };
    },

    async prune(nowSeconds) {
      const res = await db.deleteFrom('warden_used_signatures').where('expires_at', '<', nowSeconds).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
