// The protocol profile, checked with real handshakes: what an attacker's or an outdated
// client's ClientHello gets from a listener built from tlsProfile().
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:https';
import { tlsProfile } from '../../src/tls/profile.ts';
import { ensureLocalCa, type LocalCa } from '../../src/tls/local-ca.ts';
import { ensureServerCert } from '../../src/tls/server-cert.ts';
import { closeServer, handshake, listen, tempDir } from './helpers.ts';

const tmp = tempDir();
let ca: LocalCa;
const servers: Record<'1.3' | '1.2', { server: Server; port: number }> = {} as never;

before(async () => {
  ca = await ensureLocalCa(tmp.dir);
  const { certPem, keyPem } = await ensureServerCert(tmp.dir, [], { ca });
  for (const v of ['1.3', '1.2'] as const) servers[v] = await listen({ ...tlsProfile(v), cert: certPem, key: keyPem });
});
after(async () => {
  for (const s of Object.values(servers)) await closeServer(s.server);
  tmp.cleanup();
});

const cases: Array<{ name: string; server: '1.3' | '1.2'; client: Parameters<typeof handshake>[1]; ok: boolean; protocol?: string }> = [
  { name: 'default: a TLS 1.3 client connects', server: '1.3', client: {}, ok: true, protocol: 'TLSv1.3' },
  { name: 'default: a TLS 1.2-only client is refused (downgrade)', server: '1.3', client: { maxVersion: 'TLSv1.2' }, ok: false },
  { name: 'default: a TLS 1.1 client is refused (BEAST era)', server: '1.3', client: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, ok: false },
  { name: 'default: X25519 key exchange works', server: '1.3', client: { ecdhCurve: 'X25519' }, ok: true },
  { name: 'default: P-384 key exchange works', server: '1.3', client: { ecdhCurve: 'P-384' }, ok: true },
  { name: 'default: P-521-only client has no shared group', server: '1.3', client: { ecdhCurve: 'P-521' }, ok: false },
  { name: '1.2: ECDHE + AES-GCM works over TLS 1.2', server: '1.2', client: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, ok: true, protocol: 'TLSv1.2' },
  { name: '1.2: ECDHE + ChaCha20 works over TLS 1.2', server: '1.2', client: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }, ok: true, protocol: 'TLSv1.2' },
  { name: '1.2: CBC suite refused (Lucky13)', server: '1.2', client: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA' }, ok: false },
  { name: '1.2: DHE suite refused (Logjam)', server: '1.2', client: { maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256' }, ok: false },
  { name: '1.2: static RSA key exchange refused (ROBOT)', server: '1.2', client: { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' }, ok: false },
  { name: '1.2: TLS 1.3 still preferred', server: '1.2', client: {}, ok: true, protocol: 'TLSv1.3' },
];

void describe('tlsProfile handshakes', () => {
  for (const c of cases) {
    void test(c.name, async () => {
      const attempt = handshake(servers[c.server].port, { ca: ca.certPem, ...c.client });
      if (!c.ok) {
        await assert.rejects(attempt, `got a handshake, want a refusal`);
        return;
      }
      const sock = await attempt;
      try {
        if (c.protocol) assert.equal(sock.getProtocol(), c.protocol);
        assert.equal(sock.authorized, true, `server certificate not trusted: ${String(sock.authorizationError)}`);
      } finally {
        sock.destroy();
      }
    });
  }

  void test('renegotiation is refused (CVE-2009-3555)', async () => {
    const sock = await handshake(servers['1.2'].port, { ca: ca.certPem, maxVersion: 'TLSv1.2' });
    try {
      const err = await new Promise<Error | null>((resolve) => {
        const ok = sock.renegotiate({}, (e) => resolve(e));
        if (!ok) resolve(new Error('renegotiate() refused locally'));
        sock.once('error', (e) => resolve(e));
        sock.once('close', () => resolve(new Error('closed')));
      });
      assert.ok(err, 'got a completed renegotiation, want an error');
    } finally {
      sock.destroy();
    }
  });

  for (const v of ['1.3', '1.2'] as const) {
    void test(`${v}: a session is never resumed (a ticket could bring back a revoked client cert)`, async () => {
      const first = await handshake(servers[v].port, { ca: ca.certPem, ...(v === '1.2' ? { maxVersion: 'TLSv1.2' as const } : {}) });
      // TLS 1.3 sends tickets after the handshake; give them a moment to arrive.
      const session = await new Promise<Buffer | undefined>((resolve) => {
        first.once('session', (s: Buffer) => resolve(s));
        setTimeout(() => resolve(first.getSession()), 300);
      });
      first.end();
      assert.ok(session, 'the client kept no session to offer');
      const second = await handshake(servers[v].port, { ca: ca.certPem, session, ...(v === '1.2' ? { maxVersion: 'TLSv1.2' as const } : {}) });
      try {
        assert.equal(second.isSessionReused(), false, 'got a resumed session, want a full handshake');
      } finally {
        second.destroy();
      }
    });
  }
});
