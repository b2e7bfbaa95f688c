// Slow-read memory exhaustion: a client that reads a huge answer slowly must make Ollama wait,
// not make Warden hold the answer in memory. The fake streams ~50 MB; the client stops reading
// after the first chunk; the proxy's per-response buffer must stay small and the fake must be
// held back by back-pressure (it waits for 'drain' and has sent only part of the answer).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ForwardResult } from '../../src/proxy/forward.ts';
import { requestHead, withProxy } from './harness.ts';

const CHUNKS = 800;
const PAD = 64 * 1024;
const TOTAL_APPROX = CHUNKS * PAD; // ~52 MB

void describe('forward: back-pressure', () => {

  const stack = withProxy({ ollama: { fast: true } });

  void test('a slow-reading client holds Ollama back instead of filling Warden memory', async () => {
    const done = new Promise<ForwardResult>((r) => stack.proxy.events.once('result', r));
    let received = 0;
    const res = await requestHead(stack.proxy.port, {
      method: 'POST',
      path: '/api/generate',
      headers: { 'x-fake-chunks': String(CHUNKS), 'x-fake-pad-bytes': String(PAD) },
      body: JSON.stringify({ model: 'llama3.2', prompt: 'a very long answer' }),
    });
    res.pause();
    await sleep(1000);
    const rec = stack.fake.requests.at(-1);
    assert.ok(rec);
    const sentWhilePaused = rec.bytesSent;
    // kernel socket buffers on three loopback hops hold a few MB; the rest must still be in Ollama
    assert.ok(sentWhilePaused < TOTAL_APPROX / 2, `Ollama had sent ${sentWhilePaused} of ~${TOTAL_APPROX} bytes to a paused client`);
    assert.ok(rec.drainWaits > 0, 'Ollama never had to wait: nothing pushed back');
    assert.ok(stack.proxy.maxWritableLength < 1024 * 1024, `Warden buffered ${stack.proxy.maxWritableLength} bytes for one response`);
    assert.equal(rec.completed, false);

    // now read everything: the whole answer arrives intact
    res.on('data', (c: Buffer) => {
      received += c.length;
    });
    res.resume();
    await new Promise<void>((resolve) => res.on('end', resolve));
    const result = await done;
    assert.equal(received, result.bytesOut);
    assert.equal(rec.bytesSent, result.bytesOut);
    assert.ok(received > TOTAL_APPROX);
    assert.equal(result.evalTokens, CHUNKS);
    assert.ok(stack.proxy.maxWritableLength < 1024 * 1024, `Warden buffered ${stack.proxy.maxWritableLength} bytes for one response`);
  });
});
