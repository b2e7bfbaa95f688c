// Issue 18 item 11: the audit log names who acted through the admin API and the web UI (the key's
// id and name), `warden status` names itself, and the UI's own polling does not flood the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden, runCli } from '../helpers/warden.ts';

const stack = withWarden();

interface Ev { kind: string; keyId: string | null; keyName: string | null; authMethod: string | null; method: string | null; path: string | null; status: number | null; actor: string | null; reason: string | null }

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; json: unknown; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(`${stack.w.url}${path}`, {
    method: method as 'GET',
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    dispatcher: stack.w.dispatcher,
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null, headers: res.headers };
}

const bearer = (): Record<string, string> => ({ authorization: `Bearer ${stack.w.adminKey}` });

/** The audit log as the admin API shows it, polled until `until` holds (the writer is asynchronous). */
async function auditUntil(until: (events: Ev[]) => boolean): Promise<Ev[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await call('GET', '/_warden/api/audit?limit=500', bearer());
    const events = (r.json as { events: Ev[] }).events;
    if (until(events) || Date.now() > deadline) return events;
    await new Promise((res) => setTimeout(res, 100));
  }
}

test('admin actions, `warden status` and UI polling in the audit log', async () => {
  const admin = await call('GET', '/_warden/api/session', {});
  assert.equal(admin.status, 401);
  // Who the admin key is.
  const keys = (await call('GET', '/_warden/api/keys', bearer())).json as Array<{ id: string; name: string; scopes: string[] }>;
  const me = keys.find((k) => k.scopes.includes('admin'))!;

  // 1. A key created with the admin key over the API names the admin key, by id and name.
  const created = await call('POST', '/_warden/api/keys', bearer(), { name: 'made-by-api' });
  assert.equal(created.status, 201);

  // 2. A browser session: sign in, poll the Status page's endpoints, then change something.
  const signin = await call('POST', '/_warden/api/session', {}, { key: stack.w.adminKey });
  assert.equal(signin.status, 200);
  const cookie = String(signin.headers['set-cookie']).split(';')[0]!;
  const csrf = (signin.json as { csrfToken: string }).csrfToken;
  for (let i = 0; i < 5; i++) {
    for (const p of ['status', 'connections', 'request-rate']) assert.equal((await call('GET', `/_warden/api/${p}`, { cookie })).status, 200);
  }
  const patched = await call('PATCH', `/_warden/api/keys/${(created.json as { id: string }).id}`, { cookie, 'x-csrf-token': csrf, origin: stack.w.url }, { rpm: 60 });
  assert.equal(patched.status, 200);

  // 3. `warden status` on this machine, with the local control token.
  const st = await runCli(['status', '--json'], { dataDir: stack.w.dataDir });
  assert.equal(st.code, 0, st.stderr);

  const events = await auditUntil((ev) => ev.some((e) => e.kind === 'key.update') && ev.some((e) => e.keyName === 'local control'));
  const by = `${me.id} (${me.name})`;
  const create = events.find((e) => e.kind === 'key.create' && e.keyName === 'made-by-api');
  assert.equal(create?.actor, by, JSON.stringify(events.filter((e) => e.kind.startsWith('key.'))));
  const update = events.find((e) => e.kind === 'key.update');
  assert.equal(update?.actor, by);

  // Each admin request's own line names the key and how it came in.
  const postLine = events.find((e) => e.kind === 'request' && e.method === 'POST' && e.path === '/_warden/api/keys');
  assert.deepEqual([postLine?.keyId, postLine?.keyName, postLine?.authMethod, postLine?.status], [me.id, me.name, 'bearer', 201]);
  const patchLine = events.find((e) => e.kind === 'request' && e.method === 'PATCH');
  assert.deepEqual([patchLine?.keyId, patchLine?.keyName, patchLine?.authMethod], [me.id, me.name, 'session']);

  // `warden status` names itself.
  const local = events.find((e) => e.kind === 'request' && e.path === '/_warden/api/status' && e.authMethod === 'local');
  assert.deepEqual([local?.keyId, local?.keyName, local?.status], ['local-cli', 'local control', 200]);

  // The session's 15 polls wrote no line each: none of its status reads is in the log.
  const polled = events.filter((e) => e.kind === 'request' && e.authMethod === 'session' && e.method === 'GET');
  assert.deepEqual(polled, []);
  // A failed poll still is audited (nothing is hidden that went wrong).
  assert.equal((await call('GET', '/_warden/api/status', { cookie: 'warden_session=bogus' })).status, 401);
  const after = await auditUntil((ev) => ev.some((e) => e.path === '/_warden/api/status' && e.status === 401));
  assert.ok(after.some((e) => e.path === '/_warden/api/status' && e.status === 401));
});
