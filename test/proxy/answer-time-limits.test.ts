// Time limits on a proxied answer. A slow answer (a big model loading, a long
// non-streamed generation) was cut at exactly 600 s by the listener's socket timeout, with no
// status and a 499 "client closed" in the audit. Now the listener's idle timeout stops at the
// moment the request is in; the answer is bounded only by limits.answerStartSeconds and
// limits.answerIdleSeconds (none by default), and when Warden cuts, the client and the audit say
// which limit did it. All limits are made small here so the suite runs in seconds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden } from '../helpers/warden.ts';
import { waitForAudit } from '../security/helpers.ts';

const IDLE = 1;
const START = 3;
const ANSWER_IDLE = 2;

const stack = withWarden({
  ollama: { chunks: 2, delayMs: 0 },
  env: {
    WARDEN_LIMITS_IDLE_TIMEOUT_SECONDS: String(IDLE),
    WARDEN_LIMITS_ANSWER_START_SECONDS: String(START),
    WARDEN_LIMITS_ANSWER_IDLE_SECONDS: String(ANSWER_IDLE),
  },
});

async function generate(prompt: string, headers: Record<string, string>, stream: boolean) {
  const t0 = Date.now();
  const res = await request(`${stack.w.url}/api/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'llama3.2', prompt, stream }),
    dispatcher: stack.w.dispatcher,
  });
  let text = '';
  let cut = false;
  try {
    for await (const chunk of res.body) text += (chunk as Buffer).toString();
  } catch {
    cut = true;
  }
  return { status: res.statusCode, text, cut, ms: Date.now() - t0 };
}

describe('time limits on a proxied answer', () => {
  it(`a non-streamed answer that takes longer than the listener's idle timeout (${IDLE} s) is delivered whole`, async () => {
    // 2 chunks × 1200 ms: Ollama's status line comes after 2.4 s of silence on the client's socket.
    const r = await generate('slow-but-fine', { 'x-fake-chunks': '2', 'x-fake-delay-ms': '1200' }, false);
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).done, true);
    assert.ok(r.ms >= 2400, `answered after ${r.ms} ms: the fake was not slow`);
  });

  it(`an answer that has not started within limits.answerStartSeconds (${START} s) gets 504 naming the limit, and the audit says so`, async () => {
    const r = await generate('never-starts', { 'x-fake-chunks': '2', 'x-fake-delay-ms': '4000' }, false);
    assert.equal(r.status, 504, r.text);
    assert.match(JSON.parse(r.text).error, /did not start answering within 3 s \(limits\.answerStartSeconds\)/);
    assert.ok(r.ms >= (START - 0.5) * 1000 && r.ms < (START + 3) * 1000, `cut after ${r.ms} ms`);
    const line = await waitForAudit(stack.w, (l) => l.status === 504 && (l.reason ?? '').includes('limits.answerStartSeconds'));
    assert.equal(line.path, '/api/generate');
  });

  it(`a stream silent for longer than limits.answerIdleSeconds (${ANSWER_IDLE} s) ends with an error line naming the limit`, async () => {
    const r = await generate('goes-quiet', { 'x-fake-chunks': '3', 'x-fake-delay-ms': '5000' }, true);
    assert.equal(r.status, 200);
    const lines = r.text.split('\n').filter(Boolean);
    assert.ok(lines.length >= 2, `got: ${r.text}`);
    assert.equal(JSON.parse(lines[0]!).response, 'tok0');
    assert.match(JSON.parse(lines.at(-1)!).error, /Ollama sent nothing for 2 s \(limits\.answerIdleSeconds\)/);
    await waitForAudit(stack.w, (l) => l.path === '/api/generate' && (l.reason ?? '').includes('limits.answerIdleSeconds'));
    assert.equal(stack.fake.requests.find((q) => q.body.toString().includes('goes-quiet'))?.completed, false);
  });
});
