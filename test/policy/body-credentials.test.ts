// A credential inside a JSON request body is found wherever it is (src/policy/body-credentials.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCredentialInBody } from '../../src/policy/body-credentials.ts';
import { generateKey, KEY_PREFIX } from '../../src/auth/key-format.ts';

const KEY = generateKey().key;

test("the key prefix policy looks for is key-format's", () => {
  assert.ok(KEY.startsWith(KEY_PREFIX));
  assert.equal(findCredentialInBody({ prompt: KEY }), '$.prompt');
  assert.equal(findCredentialInBody({ [KEY]: 1 }), null, 'a key as a field name is not a value');
  assert.equal(findCredentialInBody({ x: { [`${KEY_PREFIX}abc`]: KEY } }), '$.x.*', 'a field name carrying the prefix is not written out');
});

const bodyCases: Array<{ name: string; body: unknown; want: string | null }> = [
  { name: 'an ordinary chat body has no credential', body: { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }, want: null },
  { name: 'a key in an api_key field is found (key in body → 400)', body: { model: 'x', api_key: 'anything' }, want: '$.api_key' },
  { name: 'a Warden key as a nested value is found', body: { model: 'x', options: { extra: [KEY] } }, want: '$.options.extra[0]' },
  { name: 'a prompt merely mentioning owk_ is not a credential', body: { model: 'x', prompt: 'what is an owk_ prefix?' }, want: null },
  { name: 'a non-object body has no credential fields', body: [1, 2, 3], want: null },
];
for (const c of bodyCases) {
  test(`findCredentialInBody: ${c.name}`, () => {
    assert.equal(findCredentialInBody(c.body), c.want);
  });
}
