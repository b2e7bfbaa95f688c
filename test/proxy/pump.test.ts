// How the relay writes an upstream body to the client's socket. Ollama sends each NDJSON line as
// its own HTTP chunk; a fast stream's lines arrive dozens per socket read. They must leave in one
// socket write together with the end of the answer (one TLS record and one syscall instead of one
// per line plus one for the terminator), while a lone line of a slow stream still leaves at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { concatUnpooled, pump } from '../../src/proxy/pump.ts';
import { holdEnd } from '../../src/server/hold-end.ts';

const LINES = 51;
const line = (i: number): Buffer => Buffer.from(`{"model":"m","message":{"role":"assistant","content":"tok${i}"},"done":false}\n`);

/** Counts the write calls that reach the connection's socket (what becomes a TLS record over HTTPS). */
function countSocketWrites(socket: Socket): { count: number } {
  const seen = { count: 0 };
  const s = socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  const write = s._write.bind(s);
  const writev = s._writev.bind(s);
  s._write = (...a: unknown[]): void => {
    seen.count++;
    write(...a);
  };
  s._writev = (...a: unknown[]): void => {
    seen.count++;
    writev(...a);
  };
  return seen;
}

void describe('pump', () => {
  let server: http.Server;
  let port: number;
  let handler: (res: http.ServerResponse, writes: { count: number }) => void;

  before(async () => {
    server = http.createServer((_req, res) => handler(res, countSocketWrites(res.socket as Socket)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const get = (): Promise<{ body: string; firstChunkAt: number }> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          let body = '';
          let firstChunkAt = 0;
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (!firstChunkAt) firstChunkAt = Date.now();
            body += c;
          });
          res.on('end', () => resolve({ body, firstChunkAt }));
        })
        .on('error', reject);
    });

  /** LINES lines in one turn (as undici delivers a socket read holding many HTTP chunks), then
   *  the end; `held`: the answer's end held as forwarding.ts holds it for the audit line. */
  async function socketWritesFor(held: boolean): Promise<number> {
    const done = new Promise<number>((resolve, reject) => {
      handler = (res, writes) => {
        const release = held ? holdEnd(res) : null;
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const body = new PassThrough();
        const finished = new Promise((r) => res.once('finish', r));
        pump(body, res, () => {}, 60_000)
          .then(() => release && setImmediate(release))
          .then(() => finished)
          .then(() => resolve(writes.count), reject);
        for (let i = 0; i < LINES; i++) body.write(line(i));
        body.end();
      };
    });
    const got = await get();
    assert.equal(got.body, Buffer.concat(Array.from({ length: LINES }, (_, i) => line(i))).toString());
    return done;
  }

  void test('the lines of one upstream read and the end of the answer leave in one socket write', async () => {
    assert.equal(await socketWritesFor(false), 1, 'headers, all lines and the chunked terminator in one write');
  });

  void test('with the end held for the audit line until the turn ends, still one socket write', async () => {
    // forwarding.ts holds the answer's end (hold-end.ts) until the audit lines of the turn are
    // appended, at setImmediate: the lines must wait with it, not leave without the terminator.
    assert.equal(await socketWritesFor(true), 1, 'headers, all lines and the chunked terminator in one write');
  });

  void test('a lone line is written at once, not held for more data', async () => {
    let sentAt = 0;
    let body!: PassThrough;
    const piped = new Promise<void>((resolve, reject) => {
      handler = (res) => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.flushHeaders();
        body = new PassThrough();
        pump(body, res, () => {}, 60_000).then(resolve, reject);
        sentAt = Date.now();
        body.write(line(0));
        // the next line comes much later, as in a slow generation
        setTimeout(() => body.end(line(1)), 1500);
      };
    });
    const got = await get();
    await piped;
    assert.ok(got.firstChunkAt - sentAt < 500, `first line arrived ${got.firstChunkAt - sentAt} ms after it was sent`);
    assert.equal(got.body, line(0).toString() + line(1).toString());
  });
});

void describe('concatUnpooled', () => {
  void test('joins the parts in order into a buffer of its own, never a slice of the shared pool', () => {
    const parts = [Buffer.from('{"message":{"content":"a"}}\n'), Buffer.from('{"message":{"content":"b"}}\n'), Buffer.alloc(0), Buffer.from('{"done":true}\n')];
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = concatUnpooled(parts, total);
    assert.deepEqual(out, Buffer.concat(parts));
    // A pooled result would share a 64 KB ArrayBuffer (and keep it alive) with unrelated buffers.
    assert.equal(out.byteOffset, 0);
    assert.equal(out.buffer.byteLength, total, 'the result sits in a larger, shared ArrayBuffer');
    assert.notEqual(Buffer.concat(parts).buffer.byteLength, total, 'control: Buffer.concat does pool this size');
  });
});
