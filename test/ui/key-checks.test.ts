// The key form's live checks (web/src/pages/key-checks.ts) must say what the server says: each
// bad value the form names while typing gets the key service's (and `warden keys create`'s)
// exact message, so the two cannot drift apart unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKeyForm, type KeyFormValues } from '../../web/src/pages/key-checks.ts';
import { openStore } from '../../src/store/index.ts';
import { KeyService, type KeyInput } from '../../src/auth/key-service.ts';
import { optCaps, parseExpires } from '../../src/admin/input.ts';
import { parseExpiry } from '../../src/cli/duration.ts';
import { removeDir, tempDir } from '../helpers/warden.ts';

const BLANK: KeyFormValues = { name: 'ok', models: '', expires: '', rpm: '', tpm: '', concurrency: '', maxCtx: '', maxPredict: '', maxKeepAlive: '', pubkeys: '' };

const CASES: Array<[string, Partial<KeyFormValues>, KeyInput]> = [
  ['name', { name: '-bad' }, { name: '-bad' }],
  ['rpm', { rpm: '-3' }, { name: 'x', rpm: -3 }],
  ['tpm', { tpm: '0' }, { name: 'x', tpm: 0 }],
  ['concurrency', { concurrency: '2147483648' }, { name: 'x', concurrency: 2147483648 }],
  ['max-ctx', { maxCtx: '0' }, { name: 'x', capNumCtx: 0 }],
  ['max-predict', { maxPredict: '1.5' }, { name: 'x', capNumPredict: 1.5 }],
  ['max-keep-alive', { maxKeepAlive: '0' }, { name: 'x', capKeepAlive: 0 }],
  ['model', { models: 'llama 3' }, { name: 'x', models: ['llama 3'] }],
];

test('every live check of the key form uses the key service\'s own words', async () => {
  const dir = tempDir();
  const store = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
  try {
    const keys = new KeyService(store, () => undefined);
    for (const [field, form, input] of CASES) {
      const mine = checkKeyForm({ ...BLANK, ...form })[field];
      let server = '';
      try {
        await keys.create(input, 'test');
      } catch (err) {
        server = (err as Error).message;
      }
      assert.ok(server, `${field}: the server accepted ${JSON.stringify(input)}`);
      assert.equal(mine, server, field);
    }
    assert.deepEqual(checkKeyForm({ ...BLANK, rpm: '60', maxKeepAlive: '30m', expires: '30d', models: 'llama3.*' }), {}, 'good values pass');
  } finally {
    await store.close();
    removeDir(dir);
  }
});

test('an expiry or a keep-alive the form refuses gets the admin API\'s and the CLI\'s words', () => {
  const now = new Date();
  const thrown = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      return (err as Error).message;
    }
    assert.fail('accepted');
  };
  for (const expires of ['next tuesday', '2020-01-31', '10000-01-01', '99999999w', '2027-13-45']) {
    const mine = checkKeyForm({ ...BLANK, expires }, now).expires;
    assert.equal(mine, thrown(() => parseExpires(expires, now)), expires);
    assert.equal(mine, thrown(() => parseExpiry(expires, 'expires', now.getTime())), `${expires} (CLI)`);
  }
  for (const keepAlive of ['soon', '99999999w']) {
    assert.equal(checkKeyForm({ ...BLANK, maxKeepAlive: keepAlive })['max-keep-alive'], thrown(() => optCaps({ keepAlive })), keepAlive);
  }
});
