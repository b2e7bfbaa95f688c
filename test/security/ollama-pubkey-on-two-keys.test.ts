// Attack: register someone else's ollama CLI public key (it is public: `cat id_ed25519.pub`) on a
// second Warden key — a key with fewer limits, or one that is the attacker's to audit. Before
// the fix the same public key could be registered on two keys, and the victim's signed
// requests were attributed to either. One ollama public key now belongs to one key only: the
// CLI and the admin API refuse the second registration with a clear error.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { withWarden, runCli } from '../helpers/warden.ts';
import { makeOllamaKey } from './ollama-cli-signer.ts';

const home = mkdtempSync(join(tmpdir(), 'warden-pubkey-home-'));
after(() => rmSync(home, { recursive: true, force: true }));
let pubFile: string;
let owner: string;

const stack = withWarden({
  afterStart: async ({ w }) => {
    pubFile = `${makeOllamaKey(home, 'victim@laptop')}.pub`;
    const created = await runCli(['keys', 'create', '--json', '--name', 'victim', '--ollama-pubkey', pubFile], { dataDir: w.dataDir });
    assert.equal(created.code, 0, created.stderr);
    owner = (JSON.parse(created.stdout) as { id: string }).id;
  },
});

describe('one ollama public key belongs to one key', () => {
  it('`keys create --ollama-pubkey` refuses a public key already registered on another key', async () => {
    const r = await runCli(['keys', 'create', '--name', 'thief', '--ollama-pubkey', pubFile], { dataDir: stack.w.dataDir });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`already registered on key ${owner}`));
    const list = JSON.parse((await runCli(['keys', 'list', '--json'], { dataDir: stack.w.dataDir })).stdout) as Array<{ name: string }>;
    assert.ok(!list.some((k) => k.name === 'thief'), 'no key was created');
  });

  it('`keys update --ollama-pubkey` refuses it too, with the comment changed', async () => {
    const thief = JSON.parse((await runCli(['keys', 'create', '--json', '--name', 'thief2'], { dataDir: stack.w.dataDir })).stdout) as { id: string };
    const text = readFileSync(pubFile, 'utf8').trim().replace(/\S+$/, 'someone-else');
    const r = await runCli(['keys', 'update', thief.id, '--ollama-pubkey', text], { dataDir: stack.w.dataDir });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /already registered on key/);
  });

  it('the admin API answers 409 naming the field', async () => {
    const res = await request(`${stack.w.url}/_warden/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'thief3', ollamaPubkeys: [readFileSync(pubFile, 'utf8').trim()] }),
      dispatcher: stack.w.dispatcher,
    });
    const body = (await res.body.json()) as { code: string; error: string };
    assert.equal(res.statusCode, 409, JSON.stringify(body));
    assert.equal(body.code, 'WARDEN_ERR_CONFLICT');
    assert.match(body.error, /ollama public key/);
  });
});
