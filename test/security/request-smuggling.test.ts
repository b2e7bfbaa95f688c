// HTTP request smuggling and request-line tricks (docs/design.md §3 "Requests are read strictly").
// Each attack is sent as raw bytes over a real TLS connection to `warden serve`, WITH a valid
// admin key, so a refusal proves the framing check and not authentication stopped it. For every
// case: a clean 400 (or a closed connection), the connection closed where framing is in doubt,
// the fake Ollama received nothing, one audit line, and the server keeps serving.
// References: RFC 9112 §6.1 and §6.3 (CL/TE precedence), PortSwigger "HTTP request smuggling"
// (CL.TE, TE.CL, TE.TE), CVE-2022-32213/-32214/-32215 (Node llhttp obfuscated TE, bare LF).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withWarden } from '../helpers/warden.ts';
import { assertStillServes, auditLines, head, openTls, collect, rawExchange, upstreamHits, waitForAudit } from './helpers.ts';

const stack = withWarden({ ollama: { chunks: 2, delayMs: 0 } });
const auth = (): string => `Authorization: Bearer ${stack.w.adminKey}`;
const host = (): string => `Host: 127.0.0.1:${stack.w.port}`;

/** The smuggled inner request always targets /api/ps, which no legitimate request here uses. */
const SMUGGLED = '/api/ps';
const BODY = '{"model":"llama3.2:latest"}';

interface Attack {
  name: string;
  bytes: () => string;
}

const attacks: Attack[] = [
  {
    name: 'CL.TE smuggling (Content-Length and Transfer-Encoding: chunked, CL first)',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked') + `0\r\n\r\nGET ${SMUGGLED} HTTP/1.1\r\n${host()}\r\n${auth()}\r\n\r\n`,
  },
  {
    name: 'TE.CL smuggling (Transfer-Encoding first, Content-Length second)',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Transfer-Encoding: chunked', 'Content-Length: 3') + `5c\r\nGET ${SMUGGLED} HTTP/1.1\r\n${host()}\r\n${auth()}\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n`,
  },
  {
    name: 'duplicate Content-Length with different values',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`, 'Content-Length: 0') + BODY,
  },
  {
    name: 'duplicate Content-Length with the same value',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length}`) + BODY,
  },
  {
    name: 'TE.TE: obfuscated Transfer-Encoding value (xchunked)',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Transfer-Encoding: xchunked', `Content-Length: ${BODY.length}`) + BODY,
  },
  {
    name: 'TE.TE: Transfer-Encoding "chunked, identity" (CVE-2022-32215 family)',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Transfer-Encoding: chunked, identity') + `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
  },
  {
    name: 'TE.TE: two Transfer-Encoding headers, one garbage',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Transfer-Encoding: chunked', 'Transfer-Encoding: cow') + `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
  },
  {
    name: 'TE.TE: space before the colon ("Transfer-Encoding : chunked")',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Transfer-Encoding : chunked', `Content-Length: ${BODY.length}`) + BODY,
  },
  {
    name: 'TE.TE: Transfer-Encoding folded onto a continuation line (obs-fold)',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Transfer-Encoding:', ' chunked', `Content-Length: ${BODY.length}`) + BODY,
  },
  {
    name: 'bare LF line endings in the request head (CVE-2022-32214)',
    bytes: () => `POST /api/show HTTP/1.1\n${host()}\n${auth()}\nContent-Length: ${BODY.length}\n\n${BODY}`,
  },
  {
    name: 'bare CR inside a header value',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), `X-Junk: a\rTransfer-Encoding: chunked`, `Content-Length: ${BODY.length}`) + BODY,
  },
  {
    name: 'Transfer-Encoding on an HTTP/1.0 request',
    bytes: () => head('POST /api/show HTTP/1.0', host(), auth(), 'Transfer-Encoding: chunked') + `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
  },
  {
    name: 'invalid chunk size (hex with 0x prefix)',
    bytes: () => head('POST /api/show HTTP/1.1', host(), auth(), 'Transfer-Encoding: chunked') + `0x${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
  },
  {
    name: 'two Host headers (host-header confusion)',
    bytes: () => head('GET /api/version HTTP/1.1', host(), 'Host: evil.example', auth()),
  },
  {
    name: 'absolute-form request target for another host (proxy abuse / SSRF)',
    bytes: () => head('GET http://evil.example/api/version HTTP/1.1', host(), auth()),
  },
  {
    name: 'absolute-form request target for our own host',
    bytes: () => head(`GET https://127.0.0.1:${stack.w.port}/api/version HTTP/1.1`, host(), auth()),
  },
  {
    name: 'asterisk-form request target (OPTIONS *)',
    bytes: () => head('OPTIONS * HTTP/1.1', host(), auth()),
  },
  {
    name: 'CONNECT tunnel to the upstream (open proxy)',
    bytes: () => head(`CONNECT ${stack.fake.host} HTTP/1.1`, `Host: ${stack.fake.host}`, auth()),
  },
  {
    name: 'TRACE (cross-site tracing echoes credentials)',
    bytes: () => head('TRACE /api/version HTTP/1.1', host(), auth()),
  },
  {
    name: 'Upgrade: websocket (tunnel past the request parser)',
    bytes: () => head('GET /api/version HTTP/1.1', host(), auth(), 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='),
  },
  {
    name: 'Upgrade: h2c (HTTP/2 cleartext smuggling, "h2c smuggling")',
    bytes: () => head('GET /api/version HTTP/1.1', host(), auth(), 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'),
  },
  {
    name: 'HTTP/0.9-style request line without a version',
    bytes: () => 'GET /api/version\r\n\r\n',
  },
  {
    name: 'NUL byte in the request target',
    bytes: () => head('GET /api/version\0/../api/ps HTTP/1.1', host(), auth()),
  },
];

describe('request smuggling and request-line tricks are refused before Ollama sees a byte', () => {
  for (const attack of attacks) {
    it(`stops ${attack.name}`, async () => {
      const upstreamBefore = stack.fake.requests.length;
      const auditBefore = auditLines(stack.w).filter((l) => l.kind === 'request').length;
      const r = await rawExchange(stack.w, attack.bytes(), { waitMs: 3000 });
      assert.ok(r.closed, `the connection was left open after ambiguous framing; got:\n${r.text.slice(0, 300)}`);
      if (r.statuses.length > 0) {
        assert.equal(r.statuses.length, 1, `more than one answer on a refused connection:\n${r.text.slice(0, 500)}`);
        assert.ok([400, 404, 405, 501].includes(r.statuses[0]!), `got status ${r.statuses[0]}, want 400/404/405/501:\n${r.text.slice(0, 300)}`);
        assert.doesNotMatch(r.text, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+/, 'a stack trace reached the client');
        const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
        if (body.length > 0) assert.ok(typeof (JSON.parse(body) as { error?: unknown }).error === 'string', `not Ollama's error shape: ${body}`);
      }
      assert.equal(stack.fake.requests.length, upstreamBefore, `Ollama received ${stack.fake.requests.slice(upstreamBefore).map((q) => `${q.method} ${q.url}`).join(', ')}`);
      assert.equal(upstreamHits(stack.fake, SMUGGLED), 0, 'the smuggled request reached Ollama');
      // One audit line for the refusal (the writer batches, so wait for it).
      await waitForAudit(stack.w, () => auditLines(stack.w).filter((l) => l.kind === 'request').length > auditBefore);
      await new Promise((res) => setTimeout(res, 300));
      const added = auditLines(stack.w).filter((l) => l.kind === 'request').slice(auditBefore);
      assert.equal(added.length, 1, `want exactly one audit line, got ${JSON.stringify(added)}`);
      assert.ok((added[0]!.status ?? 0) >= 400, `audit status ${added[0]!.status}`);
    });
  }

  it('keeps serving after all of the above', async () => {
    await assertStillServes(stack.w, stack.fake);
  });
});

describe('pipelining', () => {
  it('authenticates each pipelined request on its own: a second request without a key gets 401 (piggy-backing)', async () => {
    const before = stack.fake.requests.length;
    const s = await openTls(stack.w);
    const done = collect(s, 3000);
    s.write(head('GET /api/version HTTP/1.1', host(), auth()) + head(`GET ${SMUGGLED} HTTP/1.1`, host()) + head('GET /api/tags HTTP/1.1', host(), auth(), 'Connection: close'));
    const r = await done;
    assert.deepEqual(r.statuses, [200, 401, 200], r.text.slice(0, 600));
    assert.equal(upstreamHits(stack.fake, SMUGGLED), 0, 'the request without a key reached Ollama');
    assert.deepEqual(
      stack.fake.requests.slice(before).map((q) => q.url),
      ['/api/version', '/api/tags'],
    );
  });

  it('does not let a body-less GET carry a second request in its body (GET with Content-Length)', async () => {
    const inner = head(`GET ${SMUGGLED} HTTP/1.1`, host(), auth());
    const r = await rawExchange(stack.w, head('GET /api/version HTTP/1.1', host(), auth(), `Content-Length: ${inner.length}`) + inner + head('GET /api/version HTTP/1.1', host(), auth(), 'Connection: close'));
    assert.equal(upstreamHits(stack.fake, SMUGGLED), 0, 'the request hidden in the GET body reached Ollama');
    assert.ok(r.statuses.length >= 1, r.text);
  });

  it('still serves after pipelining attacks', async () => {
    await assertStillServes(stack.w, stack.fake);
  });
});
