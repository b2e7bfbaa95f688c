// Attack: sign in to the web UI with an admin key, then keep using the session after that key's
// secret stopped being valid — rotated away (`keys rotate --grace 0`), its grace ran out, revoked,
// deleted, expired, or the admin scope removed. Before this fix a rotation left the session
// working for up to 12 h, able to mint new admin keys. Every way ends the session at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden, runCli } from '../helpers/warden.ts';

const stack = withWarden();

async function cli(...args: string[]): Promise<string> {
  const r = await runCli(args, { dataDir: stack.w.dataDir });
  assert.equal(r.code, 0, `warden ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function adminKey(name: string, ...extra: string[]): Promise<{ id: string; key: string }> {
  return JSON.parse(await cli('keys', 'create', '--name', name, '--scope', 'admin', ...extra, '--json')) as { id: string; key: string };
}

/** Signs in through the real sign-in form endpoint; returns the session cookie. */
async function signIn(key: string): Promise<string> {
  const res = await request(`${stack.w.url}/_warden/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
    dispatcher: stack.w.dispatcher,
  });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, text);
  const cookie = /warden_session=[A-Za-z0-9_-]{43}/.exec(String(res.headers['set-cookie']))?.[0];
  assert.ok(cookie, 'a session cookie');
  return cookie;
}

/** What the session may do now: list keys (status of the admin API call). */
async function useSession(cookie: string): Promise<number> {
  const res = await request(`${stack.w.url}/_warden/api/keys`, { headers: { cookie }, dispatcher: stack.w.dispatcher });
  await res.body.text();
  return res.statusCode;
}

/** Polls (the CLI writes the store; the server reads it on each session request). */
async function until401(cookie: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const status = await useSession(cookie);
    if (status === 401) return;
    assert.equal(status, 200);
    if (Date.now() - t0 > timeoutMs) assert.fail(`the session still works ${timeoutMs} ms later`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a UI session ends with the secret it was opened with', () => {
  it('ends at once when the key is rotated with --grace 0', async () => {
    const k = await adminKey('rot-now');
    const cookie = await signIn(k.key);
    assert.equal(await useSession(cookie), 200);
    const rotated = JSON.parse(await cli('keys', 'rotate', k.id, '--grace', '0s', '--json')) as { key: string };
    assert.equal(await useSession(cookie), 401, 'the old secret is gone, so is its session');
    // The new secret opens a new session that works.
    const fresh = await signIn(rotated.key);
    assert.equal(await useSession(fresh), 200);
    assert.equal(await useSession(cookie), 401, 'and the old one stays ended');
  });

  it('survives a rotation while the grace lasts and ends when the grace runs out', async () => {
    const k = await adminKey('rot-grace');
    const cookie = await signIn(k.key);
    const rotated = JSON.parse(await cli('keys', 'rotate', k.id, '--grace', '3s', '--json')) as { key: string };
    const graceEnds = Date.now() + 3000;
    assert.equal(await useSession(cookie), 200, 'the old secret still works during the grace');
    const fresh = await signIn(rotated.key);
    await until401(cookie, 8000);
    assert.ok(Date.now() >= graceEnds - 1000, 'not before the grace ends');
    assert.equal(await useSession(fresh), 200, 'the new secret\'s session is unaffected');
  });

  it('ends when the key is rotated twice (the session\'s secret is neither current nor previous)', async () => {
    const k = await adminKey('rot-twice');
    const cookie = await signIn(k.key);
    await cli('keys', 'rotate', k.id, '--grace', '1h');
    assert.equal(await useSession(cookie), 200);
    await cli('keys', 'rotate', k.id, '--grace', '1h');
    assert.equal(await useSession(cookie), 401);
  });

  for (const [how, act] of [
    ['revoked', (id: string) => cli('keys', 'revoke', id)],
    ['deleted', (id: string) => cli('keys', 'delete', id)],
    ['stripped of the admin scope', (id: string) => cli('keys', 'update', id, '--scope', 'inference')],
  ] as const) {
    it(`ends when the key is ${how}`, async () => {
      const k = await adminKey(`end-${how.split(' ')[0]}`);
      const cookie = await signIn(k.key);
      assert.equal(await useSession(cookie), 200);
      await act(k.id);
      assert.equal(await useSession(cookie), 401);
    });
  }

  it('ends when the key expires', async () => {
    const k = await adminKey('expiring', '--expires', '3s');
    const cookie = await signIn(k.key);
    assert.equal(await useSession(cookie), 200);
    await until401(cookie, 8000);
  });
});
