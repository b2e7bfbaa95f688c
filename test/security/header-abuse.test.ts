// Oversized and malformed requests: header floods (431), bodies over the limit (413), JSON
// bombs, and path confusion (`..`, `%2e`, `%2f`, `//`, case). Every refusal is a clean HTTP
// answer, no stack trace, Ollama sees nothing, and the server keeps serving.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { assertStillServes, auditLines, collect, head, openTls, rawExchange, waitForAudit } from './helpers.ts';

const MAX_BODY = 65536;
const stack = withWarden({ ollama: { chunks: 2, delayMs: 0 }, env: { WARDEN_LIMITS_MAX_BODY_BYTES: String(MAX_BODY) } });
const auth = (): string => `Authorization: Bearer ${stack.w.adminKey}`;
const host = (): string => `Host: 127.0.0.1:${stack.w.port}`;

function assertCleanRefusal(r: { text: string; statuses: number[] }, want: number): void {
  assert.equal(r.statuses[0], want, `got ${r.statuses[0]}, want ${want}:\n${r.text.slice(0, 400)}`);
  assert.doesNotMatch(r.text, /node:internal|\.ts:\d+|\bat \w+ \(/, 'a stack trace reached the client');
  const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
  assert.equal(typeof (JSON.parse(body) as { error?: unknown }).error, 'string', `not Ollama's error shape: ${body}`);
}

describe('header floods', () => {
  const cases: Array<{ name: string; bytes: () => string }> = [
    { name: 'a header block over limits.maxHeaderBytes (16 KiB) → 431', bytes: () => head('GET /api/version HTTP/1.1', host(), auth(), `X-Pad: ${'a'.repeat(20_000)}`) },
    { name: 'a single 1 MiB header line → 431', bytes: () => head('GET /api/version HTTP/1.1', host(), auth(), `X-Pad: ${'a'.repeat(1 << 20)}`) },
    {
      name: 'more header lines than limits.maxHeaders (101) → 431',
      bytes: () => head('GET /api/version HTTP/1.1', host(), auth(), ...Array.from({ length: 101 }, (_, i) => `X-H${i}: 1`)),
    },
    {
      // Node keeps only the first maxHeadersCount lines: a second Authorization or Host past that
      // point would be invisible to every duplicate check.
      name: 'a second Host header hidden behind 2000 junk headers (header-count truncation) → 431',
      bytes: () => head('GET /api/version HTTP/1.1', host(), auth(), ...Array.from({ length: 2000 }, () => 'a:b'), 'Host: evil.example'),
    },
  ];
  for (const c of cases) {
    it(`stops ${c.name}`, async () => {
      const before = stack.fake.requests.length;
      const r = await rawExchange(stack.w, c.bytes(), { waitMs: 5000 });
      assertCleanRefusal(r, 431);
      assert.ok(r.closed, 'connection left open after an oversized head');
      assert.equal(stack.fake.requests.length, before, 'Ollama received the request');
    });
  }

  it('stops a header name with a forbidden character (request splitting) with 400', async () => {
    const before = stack.fake.requests.length;
    const r = await rawExchange(stack.w, head('GET /api/version HTTP/1.1', host(), auth(), 'X Bad: 1'));
    assertCleanRefusal(r, 400);
    assert.equal(stack.fake.requests.length, before);
  });

  it('audits the 431 refusals', async () => {
    // the writer batches: wait until all four have been written
    await waitForAudit(stack.w, () => auditLines(stack.w).filter((l) => l.status === 431).length >= 4);
    assert.equal(auditLines(stack.w).filter((l) => l.status === 431).length, 4, 'one audit line per 431, no more');
  });
});

describe('oversized and hostile bodies', () => {
  it('refuses a declared Content-Length over limits.maxBodyBytes with 413 before reading it (memory exhaustion)', async () => {
    const before = stack.fake.requests.length;
    const s = await openTls(stack.w);
    const done = collect(s, 5000);
    // Only the head: the answer must come without the body ever being sent.
    s.write(head('POST /api/chat HTTP/1.1', host(), auth(), 'Content-Type: application/json', `Content-Length: ${MAX_BODY * 1000}`));
    const r = await done;
    assertCleanRefusal(r, 413);
    assert.ok(r.closed, 'the rest of the body is still on the wire: the connection must close');
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses a chunked body that grows past the limit with 413 and closes (no length declared)', async () => {
    const before = stack.fake.requests.length;
    const s = await openTls(stack.w);
    const done = collect(s, 5000);
    s.write(head('POST /api/chat HTTP/1.1', host(), auth(), 'Content-Type: application/json', 'Transfer-Encoding: chunked'));
    const chunk = 'x'.repeat(16384);
    for (let i = 0; i < 8 && !s.destroyed; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const r = await done;
    assertCleanRefusal(r, 413);
    assert.ok(r.closed);
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses a body that is not JSON on a JSON route with 400 (never passed blind)', async () => {
    const before = stack.fake.requests.length;
    const res = await request(`${stack.w.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${stack.w.adminKey}` }, body: 'model=llama3.2', dispatcher: stack.w.dispatcher });
    assert.equal(res.statusCode, 400);
    assert.equal(typeof ((await res.body.json()) as { error?: unknown }).error, 'string');
    assert.equal(stack.fake.requests.length, before);
  });

  it('survives a deeply nested JSON body (JSON bomb / stack exhaustion)', async () => {
    const depth = 30_000;
    const body = `{"model":"llama3.2:latest","messages":[],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await request(`${stack.w.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' }, body, dispatcher: stack.w.dispatcher });
    const text = await res.body.text();
    assert.ok(res.statusCode < 500, `got ${res.statusCode}: ${text.slice(0, 200)}`);
    await assertStillServes(stack.w, stack.fake);
  });

  it('does not let "__proto__" in a body change what policy sees (prototype pollution)', async () => {
    const before = stack.fake.requests.length;
    const res = await request(`${stack.w.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' },
      body: '{"__proto__":{"model":"llama3.2:latest"},"messages":[]}',
      dispatcher: stack.w.dispatcher,
    });
    assert.equal(res.statusCode, 400, 'a body without its own "model" must be refused');
    await res.body.text();
    assert.equal(stack.fake.requests.length, before);
    assert.equal(({} as Record<string, unknown>).model, undefined);
  });
});

describe('path confusion (CVE-2021-41773 style traversal, encoded slashes, case)', () => {
  const targets: Array<[string, number[]]> = [
    ['/api/../api/ps', [400]],
    ['/api/./ps', [400]],
    ['/api/%2e%2e/api/ps', [400]],
    ['/api/%2E%2E/api/ps', [400]],
    ['/api%2fps', [400]],
    ['/api/tags%00', [400]],
    ['/api/%252e%252e/ps', [400]],
    ['//api/ps', [400]],
    ['/api//ps', [400]],
    ['/api\\ps', [400]],
    ['/api/ps;.css', [400]],
    ['/API/ps', [404]],
    ['/Api/Ps', [404]],
    ['/api/ps/', [404]],
    ['/v1/models/..%2f..%2fapi%2fps', [400]],
    ['/v1/models/%2e%2e', [400]],
  ];
  for (const [target, want] of targets) {
    it(`refuses ${target} with ${want.join('/')} and forwards nothing`, async () => {
      const before = stack.fake.requests.length;
      const r = await rawExchange(stack.w, head(`GET ${target} HTTP/1.1`, host(), auth(), 'Connection: close'));
      assert.ok(want.includes(r.statuses[0] ?? 0), `got ${r.statuses[0]}:\n${r.text.slice(0, 300)}`);
      assert.equal(stack.fake.requests.length, before, `Ollama received ${stack.fake.requests.slice(before).map((q) => q.url).join(', ')}`);
    });
  }

  it('still serves after the malformed requests', async () => {
    await assertStillServes(stack.w, stack.fake);
  });
});
