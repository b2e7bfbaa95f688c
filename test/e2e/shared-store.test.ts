// Several Warden instances sharing one PostgreSQL store (docs/design.md §1, §3): a key created from the
// CLI of one works on both, and a revocation reaches every instance within 1 s.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { findPostgresBin, startPostgres, type RunningPostgres } from '../helpers/postgres.ts';
import { runCli, startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';

const pgMissing = findPostgresBin() === null;
if (pgMissing && process.env.CI) throw new Error('PostgreSQL is not installed (apt-get install postgresql); CI must run this suite');

let fake: FakeOllama;
let pg: RunningPostgres;
let a: RunningWarden;
let b: RunningWarden;

async function status(w: RunningWarden, key: string): Promise<number> {
  const res = await request(`${w.url}/api/version`, { headers: { authorization: `Bearer ${key}` }, dispatcher: w.dispatcher });
  await res.body.text();
  return res.statusCode;
}

async function within(ms: number, fn: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not within ${ms} ms`);
}

describe('two instances on one PostgreSQL store', { skip: pgMissing ? 'PostgreSQL is not installed' : false }, () => {
  before(async () => {
    fake = await startFakeOllama();
    pg = await startPostgres();
    const env = { WARDEN_STORE_URL: pg.url };
    a = await startWarden({ upstream: fake.url, env });
    // The second instance has its own data dir (its own local CA) but the same store.
    b = await startWarden({ upstream: fake.url, env });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.stop();
    await fake?.close();
    if (a) removeDir(a.dataDir);
    if (b) removeDir(b.dataDir);
  });

  it('shares keys: the first admin key works on both instances', async () => {
    assert.equal(await status(a, a.adminKey), 200);
    assert.equal(await status(b, a.adminKey), 200);
    assert.equal(b.adminKey, '', 'the second init found the keys already there and printed none');
  });

  it('a revocation from the CLI of one instance is enforced by the other within 1 s', async () => {
    const r = await runCli(['keys', 'create', '--name', 'shared', '--json'], { dataDir: a.dataDir, env: { WARDEN_STORE_URL: pg.url } });
    assert.equal(r.code, 0, r.stderr);
    const k = JSON.parse(r.stdout) as { id: string; key: string };
    await within(2000, async () => (await status(b, k.key)) === 200);
    const rev = await runCli(['keys', 'revoke', k.id], { dataDir: a.dataDir, env: { WARDEN_STORE_URL: pg.url } });
    assert.equal(rev.code, 0, rev.stderr);
    const revokedAt = Date.now();
    // Each instance polls the shared store on its own; both must refuse within 1 s (+ slack).
    for (const [name, w] of [['b', b], ['a', a]] as const) {
      await within(3000, async () => (await status(w, k.key)) === 401);
      const took = Date.now() - revokedAt;
      assert.ok(took <= 1500, `instance ${name} accepted the revoked key for ${took} ms`);
    }
  });
});
