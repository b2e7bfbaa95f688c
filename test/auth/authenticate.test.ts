// authenticate(), claimOnce() and recheck() against a real key cache over a real SQLite store,
// with keys made by the KeyService (as the CLI makes them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticate, claimOnce, mayBeNewCredential, recheck, wasRefusedAfterProof, type Authenticated } from '../../src/auth/authenticate.ts';
import type { Credential } from '../../src/auth/credentials.ts';
import { KeyCache } from '../../src/auth/key-cache.ts';
import { generateKey } from '../../src/auth/key-format.ts';
import { KeyService } from '../../src/auth/key-service.ts';
import { createReplayCache } from '../../src/auth/replay-cache.ts';
import { isWardenError, type WardenError } from '../../src/errors.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

let dir: string;
let store: Store;
let keys: KeyCache;
let svc: KeyService;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-authenticate-'));
  store = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
  keys = new KeyCache(store, { pollMs: 3_600_000 });
  await keys.start();
  svc = new KeyService(store, () => undefined);
});

after(async () => {
  await keys.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const NO_CERT = { certFingerprint: null };
const bearer = (key: string): Credential => ({ kind: 'key', key, method: 'bearer' });

async function created(input: Parameters<KeyService['create']>[0]): Promise<{ id: string; key: string }> {
  const k = await svc.create(input, 'test');
  await keys.refresh(false);
  return { id: k.record.id, key: k.key };
}

function ok(r: Authenticated | WardenError): Authenticated {
  if (isWardenError(r)) assert.fail(`refused: ${r.reason}`);
  return r;
}

function refused(r: Authenticated | WardenError, reason: RegExp): void {
  assert.ok(isWardenError(r), 'accepted');
  assert.equal(r.status, 401);
  assert.match(r.reason, reason);
}

function ollamaIdentity(): { text: string; blob: string; priv: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const type = Buffer.from('ssh-ed25519');
  const wire = Buffer.concat([Buffer.from([0, 0, 0, type.length]), type, Buffer.from([0, 0, 0, 32]), der.subarray(der.length - 32)]);
  const blob = wire.toString('base64');
  return { text: `ssh-ed25519 ${blob}`, blob, priv: privateKey };
}

function signed(id: { blob: string; priv: KeyObject }, ts: number, path = '/api/tags'): Credential {
  const signedData = `GET,${path}?ts=${ts}`;
  return { kind: 'ollama-signature', publicKey: id.blob, signature: sign(null, Buffer.from(signedData), id.priv), ts, signedData };
}

describe('authenticate: API keys', () => {
  it('challenges with RFC 6750 error="invalid_token" only when a credential was presented', () => {
    const bad = authenticate(bearer('owk_nonsense'), NO_CERT, { keys });
    assert.ok(isWardenError(bad));
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="warden", error="invalid_token"');
    const none = authenticate({ kind: 'none' }, NO_CERT, { keys });
    assert.ok(isWardenError(none));
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="warden"');
  });

  it('accepts a valid key and refuses lookalikes with the same 401', async () => {
    const k = await created({ name: 'plain' });
    assert.equal(ok(authenticate(bearer(k.key), NO_CERT, { keys })).key.record.id, k.id);
    refused(authenticate(bearer('owk_nonsense'), NO_CERT, { keys }), /not a Warden key/);
    const last = k.key.at(-1) === 'A' ? 'B' : 'A';
    refused(authenticate(bearer(k.key.slice(0, -1) + last), NO_CERT, { keys }), /checksum|not a Warden key/);
  });

  it('refuses revoked and expired keys, and knows expiry to the millisecond', async () => {
    const r = await created({ name: 'to-revoke' });
    await svc.revoke(r.id, 'test');
    await keys.refresh(false);
    const revoked = authenticate(bearer(r.key), NO_CERT, { keys });
    refused(revoked, /revoked/);
    // The gateway's decisions by kind of refusal, not by its reason text:
    assert.ok(isWardenError(revoked) && wasRefusedAfterProof(revoked) && !mayBeNewCredential(revoked), 'revoked: the secret was proven');
    const unknown = authenticate(bearer(generateKey().key), NO_CERT, { keys });
    assert.ok(isWardenError(unknown) && mayBeNewCredential(unknown) && !wasRefusedAfterProof(unknown), 'unknown id: the cache may not know it yet');
    const expiresAt = new Date(Date.now() + 60_000);
    const e = await created({ name: 'expiring', expiresAt });
    ok(authenticate(bearer(e.key), NO_CERT, { keys }, expiresAt.getTime() - 1));
    refused(authenticate(bearer(e.key), NO_CERT, { keys }, expiresAt.getTime()), /expired/);
  });

  it('accepts the previous secret only during the rotation grace', async () => {
    const k = await created({ name: 'rotating' });
    const rotated = await svc.rotate(k.id, 60, 'test');
    await keys.refresh(false);
    const graceEnd = rotated.record.previousExpiresAt!.getTime();
    ok(authenticate(bearer(rotated.key), NO_CERT, { keys }));
    ok(authenticate(bearer(k.key), NO_CERT, { keys }, graceEnd - 1));
    refused(authenticate(bearer(k.key), NO_CERT, { keys }, graceEnd), /wrong secret/);
  });

  it('refuses a key bound to a client certificate on a connection without it; the certificate alone is a credential', async () => {
    const fp = 'c'.repeat(64);
    const k = await created({ name: 'bound', certFingerprint: fp });
    refused(authenticate(bearer(k.key), NO_CERT, { keys }), /bound to a client certificate/);
    ok(authenticate(bearer(k.key), { certFingerprint: fp }, { keys }));
    assert.equal(ok(authenticate({ kind: 'none' }, { certFingerprint: fp }, { keys })).method, 'client-cert');
  });
});

describe('authenticate + claimOnce: ollama CLI signatures', () => {
  it('accepts a registered key\'s signature once; the replay is refused', async () => {
    const id = ollamaIdentity();
    await created({ name: 'cli', ollamaPubkeys: [id.text] });
    const replay = createReplayCache();
    const now = Date.now();
    const cred = signed(id, Math.floor(now / 1000));
    const first = ok(authenticate(cred, NO_CERT, { keys }, now));
    assert.equal(await claimOnce(first, replay, now), null);
    const again = ok(authenticate(cred, NO_CERT, { keys }, now + 1000));
    const verdict = await claimOnce(again, replay, now + 1000);
    assert.match(verdict?.reason ?? '', /replayed/);
  });

  it('refuses unknown public keys and forged signatures before the replay cache sees them', async () => {
    const id = ollamaIdentity();
    await created({ name: 'cli-forged', ollamaPubkeys: [id.text] });
    const ts = Math.floor(Date.now() / 1000);
    refused(authenticate(signed(ollamaIdentity(), ts), NO_CERT, { keys }), /unknown ollama public key/);
    const forged = { ...signed(id, ts), signature: Buffer.alloc(64, 7) } as Credential;
    refused(authenticate(forged, NO_CERT, { keys }), /does not verify/);
    refused(authenticate(signed(id, ts - 301), NO_CERT, { keys }), /more than 300s/);
  });

  it('claimOnce passes other credentials straight through', async () => {
    const k = await created({ name: 'not-cli' });
    const replay = createReplayCache();
    const a = ok(authenticate(bearer(k.key), NO_CERT, { keys }));
    assert.equal(await claimOnce(a, replay), null);
    assert.equal(await claimOnce(a, replay), null);
    assert.equal(replay.size, 0);
  });
});

describe('recheck: does an earlier authentication still hold?', () => {
  it('holds while nothing changed, and hands back the key\'s current record', async () => {
    const k = await created({ name: 'steady' });
    const a = ok(authenticate(bearer(k.key), NO_CERT, { keys }));
    await svc.update(k.id, { rpm: 5 }, 'test');
    await keys.refresh(false);
    assert.equal(ok(recheck(a, NO_CERT, keys)).key.record.rpm, 5);
  });

  for (const [how, change, reason] of [
    ['revoked', (id: string) => svc.revoke(id, 'test'), /revoked/],
    ['deleted', (id: string) => svc.delete(id, 'test'), /deleted/],
    ['rotated with no grace', (id: string) => svc.rotate(id, 0, 'test'), /rotated/],
    ['expired', (id: string) => svc.update(id, { expiresAt: new Date(Date.now() - 1000) }, 'test'), /expired/],
  ] as const) {
    it(`fails once the key was ${how}`, async () => {
      const k = await created({ name: `recheck-${how.split(' ')[0]}` });
      const a = ok(authenticate(bearer(k.key), NO_CERT, { keys }));
      await change(k.id);
      await keys.refresh(false);
      refused(recheck(a, NO_CERT, keys), reason);
    });
  }

  it('fails for a signature whose public key was removed from the key', async () => {
    const id = ollamaIdentity();
    const k = await created({ name: 'recheck-cli', ollamaPubkeys: [id.text] });
    const a = ok(authenticate(signed(id, Math.floor(Date.now() / 1000)), NO_CERT, { keys }));
    await svc.update(k.id, { ollamaPubkeys: [] }, 'test');
    await keys.refresh(false);
    refused(recheck(a, NO_CERT, keys), /credential removed/);
  });
});
