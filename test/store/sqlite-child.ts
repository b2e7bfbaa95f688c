// A second process on the same SQLite file, for sqlite.test.ts:
//   create-key FILE NAME  — open the store like the CLI would and create a key
//   create-keys FILE PREFIX N — create N keys one by one (races with other writers)
//   crash-mid-write FILE  — start a big write transaction, then die with SIGKILL before commit
import { DatabaseSync } from 'node:sqlite';
import { dirname, basename } from 'node:path';
import { openStore } from '../../src/store/index.ts';

const [action, file, name] = process.argv.slice(2);
if (!file) throw new Error('usage: sqlite-child.ts ACTION FILE [NAME]');

if (action === 'create-key') {
  const store = await openStore({ url: `sqlite:${basename(file)}`, dataDir: dirname(file) });
  await store.keys.create({
    id: `key_${name}`, name: name ?? 'child', scopes: ['inference'], models: [], secretHash: 'f'.repeat(64),
    createdAt: new Date(), expiresAt: null, rpm: null, tpm: null, concurrency: null, certFingerprint: null, ollamaPubkeys: [],
    capNumCtx: null, capNumPredict: null, capKeepAlive: null,
  });
  await store.close();
} else if (action === 'create-keys') {
  const store = await openStore({ url: `sqlite:${basename(file)}`, dataDir: dirname(file) });
  for (let i = 0; i < Number(process.argv[5]); i++) {
    await store.keys.create({
      id: `key_${name}${i}`, name: `${name}-${i}`, scopes: ['inference'], models: [], secretHash: 'f'.repeat(64),
      createdAt: new Date(), expiresAt: null, rpm: null, tpm: null, concurrency: null, certFingerprint: null, ollamaPubkeys: [],
    capNumCtx: null, capNumPredict: null, capKeepAlive: null,
    });
    await store.keys.touch(new Map([[`key_${name}${i}`, new Date()]]));
  }
  await store.close();
} else if (action === 'crash-mid-write') {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA cache_size = 50'); // small cache: uncommitted pages spill into the WAL file
  db.exec('BEGIN IMMEDIATE');
  db.exec("UPDATE warden_keys SET name = 'half-written', revoked_at = 1");
  db.exec('UPDATE warden_generation SET value = value + 1000');
  const insert = db.prepare("INSERT INTO warden_audit (time, id, kind) VALUES (?, ?, 'request')");
  for (let i = 0; i < 20_000; i++) insert.run(i, `crash-${i}-${'x'.repeat(200)}`);
  process.stdout.write('written\n');
  process.kill(process.pid, 'SIGKILL');
} else {
  throw new Error(`unknown action ${action}`);
}
