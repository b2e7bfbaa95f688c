// Streamed /api/blobs uploads: piped to Ollama as they arrive, with limits.maxBlobBytes enforced
// both on the declared length (before Ollama sees a byte) and mid-way for chunked uploads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ForwardResult } from '../../src/proxy/forward.ts';
import { request, waitFor, withProxy } from './harness.ts';

const CAP = 1024 * 1024;
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Sends `total` bytes in 64 KiB chunks without Content-Length, stopping as soon as an answer arrives. */
function chunkedUpload(port: number, total: number): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: `/api/blobs/${DIGEST}`, agent: false, headers: { 'transfer-encoding': 'chunked' } },
      (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), sent });
        });
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const pump = (): void => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      // the over-cap case never ends the body: it waits for Warden's 413
      if (!answered && sent >= total && total <= CAP) req.end();
    };
    pump();
  });
}

void describe('forward: streamed blob uploads', () => {

  const stack = withProxy({ harness: { maxStreamBytes: CAP } });

  void test('an upload under the cap is streamed through and counted', async () => {
    const done = new Promise<ForwardResult>((r) => stack.proxy.events.once('result', r));
    const res = await chunkedUpload(stack.proxy.port, 512 * 1024);
    assert.equal(res.status, 201);
    const rec = stack.fake.requests.at(-1);
    assert.equal(rec?.bodyBytes, 512 * 1024);
    assert.equal((await done).bytesIn, 512 * 1024);
  });

  void test('a declared Content-Length over the cap gets 413 before Ollama sees anything', async () => {
    const before = stack.fake.requests.length;
    const res = await request(stack.proxy.port, {
      method: 'POST',
      path: `/api/blobs/${DIGEST}`,
      headers: { 'content-length': String(CAP + 1) },
      body: Buffer.alloc(0),
    });
    // the client promised more bytes than it sent; Warden answers from the header alone
    assert.equal(res.status, 413);
    assert.equal(stack.fake.requests.length, before, 'the oversize upload reached Ollama');
  });

  void test('a chunked upload that passes the cap mid-way is cut with 413 and Ollama got at most the cap', async () => {
    const before = stack.fake.requests.length;
    const res = await chunkedUpload(stack.proxy.port, 4 * CAP);
    assert.equal(res.status, 413);
    assert.match(JSON.parse(res.body).error as string, /exceeds 1048576 bytes/);
    const rec = stack.fake.requests[before];
    assert.ok(rec, 'the upload should have started streaming to Ollama');
    await waitFor(() => rec.aborted || rec.completed, 1000, 'the upstream upload to end');
    assert.ok(rec.bodyBytes <= CAP, `Ollama received ${rec.bodyBytes} bytes, cap ${CAP}`);
    assert.equal(rec.completed, false, 'Ollama must not see a complete upload');
  });
});
