// Issue 16, rows "kill -9 right after 200 answered requests" and "PostgreSQL stopped": the audit
// log loses nothing and repeats nothing. Every answered request's event is in the file even when
// the process is killed the moment the answers are in; while the store is down the file gets
// each event once (it used to get one event 72 times), and once the store is back it holds each
// event once too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { findPostgresBin, startPostgres, type RunningPostgres } from '../helpers/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';

const pgMissing = findPostgresBin() === null;
if (pgMissing && process.env.CI) throw new Error('PostgreSQL is not installed (apt-get install postgresql); CI must run this suite');

interface Line {
  id: string;
  kind: string;
  path: string | null;
  status: number | null;
}

function auditLines(w: RunningWarden): Line[] {
  const text = readFileSync(join(w.dataDir, 'audit', 'audit.log'), 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the audit file ends with a whole line');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

async function get(w: RunningWarden, path: string): Promise<number> {
  const res = await request(`${w.url}${path}`, { headers: { authorization: `Bearer ${w.adminKey}` }, dispatcher: w.dispatcher });
  await res.body.text();
  return res.statusCode;
}

describe('audit durability', () => {
  let fake: FakeOllama;
  const started: RunningWarden[] = [];
  before(async () => {
    fake = await startFakeOllama({ fast: true });
  });
  after(async () => {
    for (const w of started) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) await w.stop('SIGKILL');
      removeDir(w.dataDir);
    }
    await fake?.close();
  });

  it('kill -9 right after 200 answered requests loses none of their events', async () => {
    const w = await startWarden({ upstream: fake.url });
    started.push(w);
    const paths = Array.from({ length: 200 }, (_, i) => `/api/version?n=${i}`);
    // Answered in parallel batches, as a busy client would; the kill comes the moment the last
    // answer is in, long before any 200 ms batch timer.
    for (let i = 0; i < paths.length; i += 20) {
      const statuses = await Promise.all(paths.slice(i, i + 20).map((p) => get(w, p)));
      assert.ok(statuses.every((s) => s === 200));
    }
    w.proc.kill('SIGKILL');
    await new Promise((r) => w.proc.once('exit', r));
    const all = auditLines(w);
    const lines = all.filter((l) => l.kind === 'request' && l.path?.startsWith('/api/version'));
    assert.equal(lines.length, 200, `${200 - lines.length} of 200 answered requests missing from the audit file (${all.length} lines in all)`);
    assert.equal(new Set(lines.map((l) => l.id)).size, 200);
  });

  it('kill -9 right after 300 answers on 50 busy connections (proxied, streamed, refused by Warden) loses none', async () => {
    // The lines of one event-loop turn are appended together at its end and each answer's end
    // waits for that append: with 50 connections many requests end in the same turn, and a
    // request arriving while the previous answer on its connection is still finishing is held
    // before it has a socket.
    const w = await startWarden({ upstream: fake.url });
    started.push(w);
    const kinds = [
      { path: '/api/version', status: 200 },
      { path: '/api/chat', status: 200, body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }) },
      // answered by Warden itself: a valid key, a route it does not forward
      { path: '/api/no-such-route', status: 404 },
    ];
    // 50 connections at most (Warden allows 64 per address; an Agent without a bound opens more
    // than it has requests in flight)
    const dispatcher = new Agent({ connections: 50, connect: { ca: readFileSync(join(w.dataDir, 'tls', 'ca.pem'), 'utf8') } });
    let next = 0;
    const answered = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 300) {
          const kind = kinds[next++ % kinds.length]!;
          const res = await request(`${w.url}${kind.path}`, {
            method: kind.body ? 'POST' : 'GET',
            body: kind.body,
            headers: { authorization: `Bearer ${w.adminKey}` },
            dispatcher,
          });
          await res.body.text();
          assert.equal(res.statusCode, kind.status, kind.path);
          answered.set(kind.path, (answered.get(kind.path) ?? 0) + 1);
        }
      }),
    );
    w.proc.kill('SIGKILL');
    await new Promise((r) => w.proc.once('exit', r));
    await dispatcher.destroy();
    const all = auditLines(w).filter((l) => l.kind === 'request');
    for (const kind of kinds) {
      const lines = all.filter((l) => l.path === kind.path && l.status === kind.status);
      assert.equal(lines.length, answered.get(kind.path), `${kind.path}: ${answered.get(kind.path)! - lines.length} answered requests missing from the audit file`);
    }
    assert.equal(new Set(all.map((l) => l.id)).size, all.length, 'an event id appears twice');
  });

  describe('PostgreSQL down under traffic', { skip: pgMissing ? 'PostgreSQL is not installed' : false }, () => {
    let db: RunningPostgres;
    let proxy: TcpProxy;
    before(async () => {
      db = await startPostgres();
      const u = new URL(db.url);
      proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
    });
    after(async () => {
      await proxy?.close();
      await db?.stop();
    });

    it('each event once in the file and once in the store; one line when the store goes and one when it is back', async () => {
      const w = await startWarden({ upstream: fake.url, env: { WARDEN_STORE_URL: proxy.via(db.url), WARDEN_STORE_MAX_STALE_SECONDS: '60' } });
      started.push(w);
      let stop = false;
      let answered = 0;
      const traffic = Promise.all(
        Array.from({ length: 3 }, async () => {
          while (!stop) {
            assert.equal(await get(w, '/api/version'), 200);
            answered++;
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 500));
      proxy.refuse();
      await new Promise((r) => setTimeout(r, 4000));
      proxy.restore();
      await new Promise((r) => setTimeout(r, 500));
      stop = true;
      await traffic;
      assert.ok(answered > 50, `only ${answered} requests answered`);

      const fileIds = auditLines(w).map((l) => l.id);
      assert.equal(new Set(fileIds).size, fileIds.length, 'an event id appears twice in the audit file');
      // Once the store is back, it holds every event of the file, each once (poll: the writer
      // retries with backoff).
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const deadline = Date.now() + 20_000;
        let rows: Array<{ id: string; n: string }> = [];
        for (;;) {
          rows = (await client.query<{ id: string; n: string }>('SELECT id, count(*) AS n FROM warden_audit GROUP BY id')).rows;
          const inStore = new Set(rows.map((r) => r.id));
          if (fileIds.every((id) => inStore.has(id)) || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const inStore = new Set(rows.map((r) => r.id));
        const missing = fileIds.filter((id) => !inStore.has(id));
        assert.equal(missing.length, 0, `${missing.length} of ${fileIds.length} events never reached the store`);
        assert.deepEqual(rows.filter((r) => Number(r.n) > 1), [], 'an event is in the store twice');
      } finally {
        await client.end();
      }
      const out = w.output();
      const errorLines = out.split('\n').filter((l) => l.includes('"level":50'));
      assert.ok(errorLines.length <= 3, `${errorLines.length} error lines:\n${errorLines.join('\n')}`);
      assert.ok(out.includes('"msg":"store unreachable'), out);
      assert.ok(out.includes('"msg":"store reachable again'), out);
    });
  });
});
