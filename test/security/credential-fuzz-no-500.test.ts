// Attack: crash the credential checks with a shape nobody expected. A 43-character credential with
// one non-ASCII character made the admin check compare buffers of different byte lengths
// (timingSafeEqual throws): a 500 before the limiter and the audit, so such probes were neither
// slowed nor recorded. And `expires: "99999999w"` on the admin API was a 500 from the store.
//
// Random bytes and lengths through every credential parser (Bearer, X-API-Key, Basic, the ollama
// CLI signature, the admin API's Bearer, the admin sign-in form): the answer is only ever
// 400/401/429, every request is audited exactly once (in an event of its own, or counted in a
// summary of an authentication-refusal flood: audit/aggregate.ts), and each parser's failures
// are limited.
// Then random values in every admin API field: never a 5xx. The seed is printed on failure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { auditLines, collect, head, openTls, prng } from './helpers.ts';
import { SUMMARY_REASON } from '../../src/audit/aggregate.ts';
import { poll } from '../helpers/poll.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

// a small lockout so "always limited" is reached in a few attempts per parser
const stack = withWarden({ ollama: { chunks: 1, delayMs: 0 }, env: { WARDEN_SECURITY_LOCKOUT_FAILURES: '6', WARDEN_SECURITY_LOCKOUT_TARPIT_MS: '0' } });

const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ODD = ['é', 'ÿ', '\u0085', '\u00a0', '\u2028', '🙂', '\u202e', 'ß', '\u00ad', '\t', ' ', ':', '=', ',', '"', '\\', '%00', '\x7f'];

/** A credential-like text: random bytes, or a near-valid key with a twist, of random length. */
function randomSecret(): string {
  const shape = Math.floor(rnd() * 6);
  const len = pick([0, 1, 3, 42, 43, 44, 47, 48, 64, 200, 600]);
  const base = Array.from({ length: len }, () => (rnd() < 0.1 ? pick(ODD) : B64URL[Math.floor(rnd() * 64)]!)).join('');
  switch (shape) {
    case 0: // a 43-character owk_ key with one non-ASCII character
      return `owk_${Array.from({ length: 39 }, () => B64URL[Math.floor(rnd() * 64)]!).join('')}`.replace(/.(?=.{0,20}$)/, pick(['é', 'ÿ', '\u0085', '🙂']));
    case 1: // latin-1 bytes 0x80-0xff
      return Array.from({ length: len }, () => String.fromCharCode(0x80 + Math.floor(rnd() * 128))).join('');
    case 2:
      return `owk_${base}`;
    case 3: // the local control token's length (43 base64url characters) with a twist
      return Array.from({ length: 43 }, (_, i) => (i === Math.floor(rnd() * 43) ? pick(ODD) : B64URL[Math.floor(rnd() * 64)]!)).join('');
    default:
      return base;
  }
}

type Parser = 'bearer' | 'x-api-key' | 'basic' | 'signature' | 'admin-bearer' | 'admin-signin';
const PARSERS: readonly Parser[] = ['bearer', 'x-api-key', 'basic', 'signature', 'admin-bearer', 'admin-signin'];

/** encodeURIComponent that survives a random slice cutting an emoji in half (a lone surrogate). */
const uri = (v: string): string => encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '?'));

/** The raw request for one credential through one parser (raw bytes: no client library filters them). */
function rawRequest(parser: Parser, secret: string): Buffer {
  const host = 'Host: localhost';
  switch (parser) {
    case 'bearer':
      return Buffer.from(head('GET /api/tags HTTP/1.1', host, `Authorization: ${pick(['Bearer', 'bearer', 'BEARER', 'Bearer '])} ${secret}`, 'Connection: close'), 'utf8');
    case 'x-api-key':
      return Buffer.from(head('GET /api/tags HTTP/1.1', host, `X-API-Key: ${secret}`, 'Connection: close'), 'utf8');
    case 'basic': {
      const cred = rnd() < 0.5 ? Buffer.from(`${pick(['', 'user', secret])}:${secret}`, 'utf8').toString('base64') : secret;
      return Buffer.from(head('GET /api/tags HTTP/1.1', host, `Authorization: Basic ${cred}`, 'Connection: close'), 'utf8');
    }
    case 'signature': {
      const ts = pick([String(Math.floor(Date.now() / 1000)), '0', '99999999999999', secret.slice(0, 12), '-1']);
      const pub = pick([`AAAAC3NzaC1lZDI1NTE5AAAAI${secret}`, `AAAA${Buffer.from(secret).toString('base64')}`, secret]);
      const sig = pick([Buffer.from(secret).toString('base64'), secret, '']);
      return Buffer.from(head(`GET /api/tags?ts=${uri(ts)} HTTP/1.1`, host, `Authorization: ${pub}:${sig}`, 'Connection: close'), 'utf8');
    }
    case 'admin-bearer':
      return Buffer.from(head('GET /_warden/api/keys HTTP/1.1', host, `Authorization: Bearer ${secret}`, 'Connection: close'), 'utf8');
    case 'admin-signin': {
      const body = Buffer.from(JSON.stringify(rnd() < 0.8 ? { key: secret } : pick([{ key: 42 }, { key: null }, [secret], secret, { key: [secret] }])), 'utf8');
      return Buffer.concat([
        Buffer.from(head('POST /_warden/api/session HTTP/1.1', host, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'), 'utf8'),
        body,
      ]);
    }
  }
}

async function send(parser: Parser, secret: string, localAddress: string): Promise<number[]> {
  const s = await openTls(stack.w, { localAddress });
  const done = collect(s, 10_000);
  s.write(rawRequest(parser, secret));
  return (await done).statuses;
}

/** A fresh loopback address per attempt (127.0.0.0/8 is all ours), so progressive slow-down of
 *  one address does not stretch the fuzz run; the limit itself is tested per address below. */
let nextAddr = 0;
const freshAddress = (): string => `127.0.${10 + Math.floor(nextAddr / 250)}.${1 + (nextAddr++ % 250)}`;

describe(`credential parsers never answer 5xx (FUZZ_SEED=${SEED})`, () => {
  it('random credentials through every parser: only 400/401/429, each audited exactly once (alone or in a summary count)', async () => {
    const sent = new Map<string, { parser: Parser; secret: string; status: number }>();
    for (let i = 0; i < 240; i++) {
      const parser = PARSERS[i % PARSERS.length]!;
      const secret = randomSecret();
      const addr = freshAddress();
      const statuses = await send(parser, secret, addr);
      assert.equal(statuses.length, 1, `${parser} ${JSON.stringify(secret)} (seed ${SEED}): answers ${JSON.stringify(statuses)}`);
      assert.ok([400, 401, 429].includes(statuses[0]!), `${parser} ${JSON.stringify(secret)} (seed ${SEED}): ${statuses[0]}`);
      sent.set(addr, { parser, secret, status: statuses[0]! });
    }
    // Audited exactly once: in an event of its own, or counted in a summary of its /24, status
    // and reason (a flood of authentication refusals, audit/aggregate.ts). Per status, individual
    // events plus summary counts equal the requests sent, and no request has two events.
    const prefixes = new Set([...sent.keys()].map((a) => `${a.split('.').slice(0, 3).join('.')}.0/24`));
    const audited = (): { individual: Map<string, number>; perStatus: Map<number, number> } => {
      const individual = new Map<string, number>();
      const perStatus = new Map<number, number>();
      for (const l of auditLines(stack.w)) {
        if (l.kind === 'request' && l.clientAddress && sent.has(l.clientAddress)) {
          individual.set(l.clientAddress, (individual.get(l.clientAddress) ?? 0) + 1);
          perStatus.set(l.status!, (perStatus.get(l.status!) ?? 0) + 1);
        } else if (l.kind === 'request.refused_summary' && l.clientAddress && (prefixes.has(l.clientAddress) || l.clientAddress === '*')) {
          const m = SUMMARY_REASON.exec(l.reason ?? '');
          assert.ok(m, `summary reason ${JSON.stringify(l.reason)}`);
          assert.ok(l.status === 401 || l.status === 429, `only authentication refusals are summarised: ${JSON.stringify(l)}`);
          perStatus.set(l.status, (perStatus.get(l.status) ?? 0) + Number(m[1]));
        }
      }
      return { individual, perStatus };
    };
    const want = new Map<number, number>();
    for (const v of sent.values()) want.set(v.status, (want.get(v.status) ?? 0) + 1);
    const total = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    await poll(() => `${total(audited().perStatus)} of ${sent.size} audited`, () => total(audited().perStatus) >= sent.size, 15_000);
    const { individual, perStatus } = audited();
    for (const [addr, n] of individual) assert.equal(n, 1, `${JSON.stringify(sent.get(addr))} audited ${n} times`);
    assert.deepEqual(new Map([...perStatus].sort()), new Map([...want].sort()), 'per status: individual events + summary counts = requests sent');
    for (const l of auditLines(stack.w)) if (l.clientAddress && sent.has(l.clientAddress)) assert.equal(l.status, sent.get(l.clientAddress)!.status);
    // A 400 (a malformed request, not a guess) is never summarised: each is an event of its own.
    for (const [addr, v] of sent) if (v.status === 400) assert.equal(individual.get(addr), 1, `400 for ${JSON.stringify(v)} not audited on its own`);
  });

  for (const parser of PARSERS) {
    it(`${parser}: repeated failures from one address are limited (429)`, async () => {
      const addr = freshAddress();
      const seen: number[] = [];
      for (let i = 0; i < 25 && !seen.includes(429); i++) seen.push(...(await send(parser, `owk_${'A'.repeat(39)}${pick(['é', 'x', '🙂'])}${i}`, addr)));
      assert.ok(seen.includes(429), `${parser}: ${JSON.stringify(seen)}`);
      assert.ok(seen.every((s) => [400, 401, 429].includes(s)), JSON.stringify(seen));
    });
  }
});

/** A random JSON value of a random type, biased to the shapes that break parsers. */
function randomValue(depth = 0): unknown {
  const r = Math.floor(rnd() * 14);
  switch (r) {
    case 0:
      return null;
    case 1:
      return rnd() < 0.5;
    case 2:
      return pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 99999999999, 1e-9]);
    case 3:
      return pick(['99999999w', '99999999d', '999999999s', '1w', '0s', '-1', '1e400', '30d', '']);
    case 4:
      return pick(['9999-12-31', '275760-09-13', '2026-13-45', '0000-01-01', '2099-01-01T00:00:00Z', '2099-01-01T99:99:99Z', '1970-01-01']);
    case 5:
      return randomSecret();
    case 6:
      return 'x'.repeat(pick([65, 201, 5000]));
    case 7:
      return depth < 2 ? Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(depth + 1)) : [];
    case 8:
      return depth < 2 ? { numCtx: randomValue(depth + 1), keepAlive: randomValue(depth + 1), [randomSecret().slice(0, 8)]: 1 } : {};
    case 9:
      return pick(['inference', 'admin', 'models:read', 'nope', 'admin,inference', '*', 'llama3.*']);
    case 10:
      return pick(['AAAAC3NzaC1lZDI1NTE5AAAAIOZ9bm90YXJlYWxrZXk=', 'ssh-ed25519 AAAA', 'sha256:zz']);
    default:
      return randomSecret().slice(0, 30);
  }
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await request(`${stack.w.url}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${stack.w.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: stack.w.dispatcher,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

const KEY_FIELDS = ['name', 'scopes', 'models', 'expires', 'expiresAt', 'rpm', 'tpm', 'concurrency', 'certFingerprint', 'ollamaPubkeys', 'caps'];
const SETTINGS_FIELDS = ['tls.mode', 'tls.minVersion', 'tls.cert', 'tls.key', 'tls.clientAuth', 'tls.clientCA', 'tls.hostnames', 'audit.enabled'];
const AUDIT_QUERY = ['limit', 'key', 'status', 'path', 'kind', 'since', 'until', 'before'];

function nested(path: string, value: unknown): Record<string, unknown> {
  const parts = path.split('.');
  let out: unknown = value;
  for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i]!]: out };
  return out as Record<string, unknown>;
}

describe(`admin API fields never answer 5xx (FUZZ_SEED=${SEED})`, () => {
  it('expires: "99999999w" is a 400 naming the field', async () => {
    const r = await admin('POST', '/_warden/api/keys', { name: 'far-future', expires: '99999999w' });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /expires/);
  });

  it('random values in every field of every admin route', async () => {
    const created = await admin('POST', '/_warden/api/keys', { name: 'fuzz-target' });
    assert.equal(created.status, 201, created.text);
    const id = (JSON.parse(created.text) as { id: string }).id;
    const failures: string[] = [];
    const check = (what: string, r: { status: number; text: string }): void => {
      if (r.status >= 500) failures.push(`${what} → ${r.status} ${r.text}`);
      else if (r.status >= 400 && typeof (JSON.parse(r.text) as { error?: unknown }).error !== 'string') failures.push(`${what} → ${r.status} without an error message`);
    };
    for (let round = 0; round < 10; round++) {
      for (const field of KEY_FIELDS) {
        const v = randomValue();
        const body = { name: `fz-${round}`, [field]: v };
        check(`POST keys ${JSON.stringify(body)}`, await admin('POST', '/_warden/api/keys', body));
        check(`PATCH keys ${JSON.stringify({ [field]: v })}`, await admin('PATCH', `/_warden/api/keys/${id}`, { [field]: v }));
      }
      const grace = randomValue();
      check(`rotate ${JSON.stringify({ grace })}`, await admin('POST', `/_warden/api/keys/${id}/rotate`, { grace }));
      const cert = { name: randomValue(), days: randomValue() };
      check(`certs ${JSON.stringify(cert)}`, await admin('POST', '/_warden/api/certs', cert));
      const weird = randomValue();
      check(`PATCH keys body ${JSON.stringify(weird)}`, await admin('PATCH', `/_warden/api/keys/${id}`, weird));
      check(`GET keys/${JSON.stringify(weird)}`, await admin('GET', `/_warden/api/keys/${uri(String(weird))}`));
      for (const f of AUDIT_QUERY) {
        const v = String(randomValue());
        check(`audit ?${f}=${v}`, await admin('GET', `/_warden/api/audit?${f}=${uri(v)}&${f}=${rnd() < 0.3 ? 'twice' : ''}`));
      }
      // settings that would be accepted change the running server's file: only send ones it must refuse
      for (const f of SETTINGS_FIELDS) {
        const v = pick([randomSecret(), 42, [1, 2], { x: 1 }, -1, '1.0']);
        check(`settings ${f}=${JSON.stringify(v)}`, await admin('PATCH', '/_warden/api/settings', nested(f, v)));
      }
    }
    assert.deepEqual(failures, [], `seed ${SEED}`);
  });
});
