// Settings that break the next start: the settings API accepted `tls.mode: off` (and a
// certificate file that does not exist), wrote it to warden.yaml and said "restart needed";
// the restart then refused to start, or needed --insecure-http. A PATCH also rewrote warden.yaml
// with yaml.stringify, deleting the operator's comments, and "restart needed" listed fields
// that had been changed back. Run against the real server and its real settings writer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, runCli, removeDir, tempDir, type RunningWarden } from '../helpers/warden.ts';

let fake: FakeOllama;
let w: RunningWarden;
let file: string;

before(async () => {
  fake = await startFakeOllama();
  const dataDir = tempDir();
  const init = await runCli(['init', '--yes', '--listen', '127.0.0.1:0', '--upstream', fake.url], { dataDir });
  assert.equal(init.code, 0, init.stderr);
  file = join(dataDir, 'warden.yaml');
  appendFileSync(file, '# operator: Ollama runs on the GPU box, ask Sam before changing\n');
  w = await startWarden({ upstream: fake.url, dataDir });
  w.adminKey = /owk_[A-Za-z0-9_]+/.exec(init.stdout)![0];
});
after(async () => {
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

async function patch(body: unknown): Promise<{ status: number; body: { field?: string; error?: string; restartNeeded?: string[] } }> {
  const res = await request(`${w.url}/_warden/api/settings`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${w.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: w.dispatcher,
  });
  return { status: res.statusCode, body: (await res.body.json()) as { field?: string; error?: string; restartNeeded?: string[] } };
}

describe('settings the server cannot start with are refused when set', () => {
  const cases: Array<{ what: string; body: unknown; field: string }> = [
    { what: 'tls.mode off (plain HTTP needs --insecure-http)', body: { tls: { mode: 'off' } }, field: 'tls.mode' },
    { what: 'tls.mode files with certificate files that do not exist', body: { tls: { mode: 'files', cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } }, field: 'tls.cert' },
    { what: 'a client CA file that does not exist', body: { tls: { clientAuth: 'require', clientCA: '/nonexistent/ca.pem' } }, field: 'tls.clientCA' },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const before = readFileSync(file, 'utf8');
      const r = await patch(c.body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.field, c.field, JSON.stringify(r.body));
      assert.equal(readFileSync(file, 'utf8'), before, 'warden.yaml changed although the setting was refused');
    });
  }
});

describe('a PATCH keeps warden.yaml as the operator wrote it', () => {
  it('keeps comments, and toggling the audit log needs no restart', async () => {
    const r = await patch({ audit: { enabled: false } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.restartNeeded, []);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /# operator: Ollama runs on the GPU box/);
    assert.match(text, /# Ollama Warden configuration/);
    assert.match(text, /enabled: false/);
  });

  it('"restart needed" compares with what the server runs with: a change undone needs none', async () => {
    assert.deepEqual((await patch({ tls: { minVersion: '1.2' } })).body.restartNeeded, ['tls.minVersion']);
    assert.deepEqual((await patch({ tls: { minVersion: '1.3' } })).body.restartNeeded, []);
    const res = await request(`${w.url}/_warden/api/settings`, { headers: { authorization: `Bearer ${w.adminKey}` }, dispatcher: w.dispatcher });
    assert.deepEqual(((await res.body.json()) as { restartNeeded: string[] }).restartNeeded, []);
  });
});
