// The audit file's line is written out field by field (writer.ts eventToLine) instead of by
// JSON.stringify on a copy of the event: it must stay exactly what JSON.stringify gave, in the
// same key order, for any text — and completeEvent's cheap pre-test must not let a key or an
// escape through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { completeEvent, eventToLine } from '../../src/audit/writer.ts';
import type { AuditEvent } from '../../src/store/types.ts';

/** What the line was before it was written by hand. */
function stringified(e: AuditEvent): string {
  const { keyId, keyName, authMethod, clientAddress, tlsVersion, clientCertSubject, method, path, model, status, durationMs, bytesIn, bytesOut, promptTokens, evalTokens, reason, actor, time, kind, id } = e;
  const ordered = { keyId, keyName, authMethod, clientAddress, tlsVersion, clientCertSubject, method, path, model, status, durationMs, bytesIn, bytesOut, promptTokens, evalTokens, reason, actor, time: time.toISOString(), kind, id };
  return JSON.stringify(ordered) + '\n';
}

const TEXTS = [
  '',
  'plain',
  '/api/tags',
  'quote " and backslash \\',
  'tab\tnewline\nreturn\r',
  'nul \u0000 esc \u001b del \u007f c1 \u0085',
  'non-ASCII: café, 模型, emoji 🦙',
  'line separators \u2028 \u2029',
  'bidi \u202e override \u2066',
  'lone surrogate \ud800 end',
  '{"json":"inside"}',
];

describe('eventToLine', () => {
  it('is what JSON.stringify of the event gives, key for key, for any text and number', () => {
    const numbers = [0, -0, 1, 200, 12.5, 0.1, 1e21, 2 ** 53, -3, Number.NaN, Number.POSITIVE_INFINITY, null];
    for (const [i, text] of TEXTS.entries()) {
      const n = numbers[i % numbers.length]!;
      const e: AuditEvent = {
        keyId: text,
        keyName: text,
        authMethod: text,
        clientAddress: text,
        tlsVersion: text,
        clientCertSubject: text,
        method: text,
        path: text,
        model: text,
        status: n,
        durationMs: numbers[(i + 1) % numbers.length]!,
        bytesIn: numbers[(i + 2) % numbers.length]!,
        bytesOut: numbers[(i + 3) % numbers.length]!,
        promptTokens: n,
        evalTokens: n,
        reason: text,
        actor: text,
        time: new Date(1_700_000_000_000 + i * 1001),
        kind: text,
        id: text,
      };
      assert.equal(eventToLine(e), stringified(e), JSON.stringify(text));
    }
  });

  it('writes null fields as null and keeps each event its own time', () => {
    const a = completeEvent({ kind: 'request', time: new Date(1_700_000_000_000) });
    const b = completeEvent({ kind: 'request', time: new Date(1_700_000_000_001) });
    assert.equal(eventToLine(a), stringified(a));
    assert.equal(eventToLine(b), stringified(b));
    assert.equal(eventToLine(a), stringified(a), 'the time text of the last millisecond is not reused for another');
  });
});

describe('completeEvent', () => {
  it('redacts a key in every text field a client can reach and makes free text inert', () => {
    const key = 'owk_abcdefghijklmnop_1234';
    const e = completeEvent({
      kind: `kind ${key}`,
      keyName: `name ${key}`,
      authMethod: `m ${key}`,
      clientAddress: `addr ${key}`,
      clientCertSubject: `CN=${key.toUpperCase()}\u001b[31m`,
      method: `GET${key}`,
      path: `/api/${key}?api_key=${key}`,
      model: `llama\u202e${key}`,
      reason: `why OWK%5F${key.slice(4)}`,
      actor: `actor\n${key}`,
    });
    const line = eventToLine(e);
    assert.ok(!/owk(_|%5f)[a-z0-9]/i.test(line.replaceAll('owk_[redacted]', '')), line);
    assert.equal(e.model, 'llama\\u202eowk_[redacted]');
    assert.equal(e.clientCertSubject, 'CN=owk_[redacted]\\x1b[31m');
    assert.equal(e.actor, 'actor\\x0aowk_[redacted]');
    assert.equal(e.path, '/api/[redacted]?api_key=[redacted]');
    assert.equal(e.clientAddress, 'addr owk_[redacted]');
  });

  it('leaves ordinary text as it came and fills what is missing with null', () => {
    const e = completeEvent({ kind: 'request', method: 'POST', path: '/api/chat', model: 'llama3.2:latest', reason: 'client disconnected', keyName: 'team-a' });
    assert.equal(e.method, 'POST');
    assert.equal(e.path, '/api/chat');
    assert.equal(e.model, 'llama3.2:latest');
    assert.equal(e.reason, 'client disconnected');
    assert.equal(e.keyName, 'team-a');
    assert.equal(e.status, null);
    assert.equal(e.actor, null);
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
