// The store contract: every Store implementation (SQLite, PostgreSQL) must pass all of it.
// sqlite.test.ts and postgres.test.ts call storeContract with a way to get an empty database.
import { after, describe } from 'node:test';
import { auditContract } from './contract/audit.ts';
import { clientCertContract } from './contract/client-certs.ts';
import { OpenStores, type FreshTarget } from './contract/fixtures.ts';
import { generationContract } from './contract/generation.ts';
import { keysContract } from './contract/keys.ts';
import { metaContract } from './contract/meta.ts';
import { usedSignaturesContract } from './contract/used-signatures.ts';

export type { FreshTarget, StoreTarget } from './contract/fixtures.ts';

export function storeContract(label: string, fresh: FreshTarget): void {
  void describe(`${label} store contract`, () => {
    const stores = new OpenStores(fresh);
    after(() => stores.closeAll());
    keysContract(stores);
    generationContract(stores);
    auditContract(stores);
    clientCertContract(stores);
    metaContract(stores);
    usedSignaturesContract(stores);
  });
}
