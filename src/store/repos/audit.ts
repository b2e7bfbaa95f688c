// Audit events for the UI and `warden audit`. Inserts come in batches from the audit writer;
// queries are newest first and bounded, so a filter typed into the UI can never ask for the
// whole table.
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from '../kysely-schema.ts';
import { auditFromRow, auditToRow, ms } from '../row-mapping.ts';
import type { AuditRepo } from '../types.ts';

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;
// Batches are cut into chunks of a few fixed sizes so the SQL text repeats and its prepared
// statement is reused (SQLite) instead of compiled for every batch length. 20 columns per row:
// 200 rows stay far below SQLite's (32766) and PostgreSQL's (65535) bound-parameter limits.
const CHUNK_SIZES = [200, 50, 10, 1];

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  let i = 0;
  for (const size of CHUNK_SIZES) {
    while (rows.length - i >= size) {
      out.push(rows.slice(i, i + size));
      i += size;
    }
  }
  return out;
}

export function auditRepo(db: Kysely<Database>): AuditRepo {
  // Every audit event goes through here, including each refusal in a flood of bad keys, and
  // building the INSERT with Kysely's query builder cost more CPU than SQLite's own work. The SQL
  // for each chunk size is compiled once by Kysely (so it is right for the dialect) and reused
  // with the values laid out in the same column order.
  const texts = new Map<number, string>();
  const template = auditToRow({ time: new Date(0), id: '', kind: '' } as Parameters<typeof auditToRow>[0]);
  const columns = Object.keys(template) as (keyof typeof template)[];
  for (const c of columns) (template as Record<string, unknown>)[c] = null;
  const textFor = (size: number): string => {
    let text = texts.get(size);
    if (text === undefined) {
      // Idempotent by event id (unique index, migration 4): the audit writer retries a batch
      // whose commit it never saw confirmed, and must not store an event twice.
      text = db
        .insertInto('warden_audit')
        .values(Array<typeof template>(size).fill(template))
        .onConflict((oc) => oc.column('id').doNothing())
        .compile().sql;
      texts.set(size, text);
    }
    return text;
  };

  return {
    async insert(events) {
      if (events.length === 0) return;
      const rows = events.map(auditToRow);
      await db.transaction().execute(async (trx) => {
        for (const chunk of chunks(rows)) {
          const params: unknown[] = [];
          for (const row of chunk) for (const c of columns) params.push(row[c] ?? null);
          await trx.executeQuery(CompiledQuery.raw(textFor(chunk.length), params));
        }
      });
    },

    async query(q) {
      const limit = Math.min(Math.max(Math.trunc(q.limit ?? DEFAULT_AUDIT_LIMIT), 1), MAX_AUDIT_LIMIT);
      let s = db.selectFrom('warden_audit').selectAll();
      if (q.keyId !== undefined) s = s.where('key_id', '=', q.keyId);
      if (q.kind !== undefined) s = s.where('kind', '=', q.kind);
      if (q.statusClass !== undefined) {
        const c = Math.trunc(q.statusClass);
        s = s.where('status', '>=', c * 100).where('status', '<', (c + 1) * 100);
      }
      if (q.pathPrefix !== undefined && q.pathPrefix !== '') {
        // substr, not LIKE: LIKE would treat % and _ in the prefix as wildcards, and SQLite's
        // LIKE ignores case where PostgreSQL's does not.
        const prefix = q.pathPrefix;
        s = s.where(sql<boolean>`substr(path, 1, ${prefix.length}) = ${prefix}`);
      }
      if (q.since !== undefined) s = s.where('time', '>=', ms(q.since));
      if (q.until !== undefined) s = s.where('time', '<=', ms(q.until));
      if (q.before !== undefined) s = s.where('time', '<', ms(q.before));
      const rows = await s.orderBy('time', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(auditFromRow);
    },

    async prune(before) {
      const res = await db.deleteFrom('warden_audit').where('time', '<', ms(before)).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
