// The Store over a migrated Kysely instance: the same code for SQLite and PostgreSQL.
import type { Kysely } from 'kysely';
import { readGeneration } from './generation.ts';
import type { Database } from './kysely-schema.ts';
import { auditRepo } from './repos/audit.ts';
import { clientCertRepo } from './repos/client-certs.ts';
import { keyRepo } from './repos/keys.ts';
import { getMeta, setMeta } from './repos/meta.ts';
import { usedSignatureRepo } from './repos/used-signatures.ts';
import type { Store } from './types.ts';
import { StoreHealth } from './health.ts';

export function kyselyStore(db: Kysely<Database>, dialect: Store['dialect'], health = new StoreHealth()): Store {
  let closing: Promise<void> | null = null;
  return {
    dialect,
    health,
    keys: keyRepo(db),
    usedSignatures: usedSignatureRepo(db),
    audit: auditRepo(db),
    clientCerts: clientCertRepo(db),
    generation: () => readGeneration(db),
    getMeta: (key) => getMeta(db, key),
    setMeta: (key, value) => setMeta(db, key, value),
    // Idempotent: shutdown paths (signal handler, fastify onClose) may both call it.
    close: () => (closing ??= db.destroy()),
  };
}
