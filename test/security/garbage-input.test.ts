// Bad input of every kind (fuzzing, seeded so a failure can be replayed): random bytes where a
// request should be, valid request lines with garbage headers, and authenticated requests whose
// JSON bodies are mutated byte by byte. Whatever arrives, the answer is a clean HTTP response
// (never a 5xx from Warden, never a stack trace) or a closed connection, the process does not
// crash, and a normal client is served afterwards.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withWarden } from '../helpers/warden.ts';
import { assertStillServes, head, prng, rawExchange, type RawResult } from './helpers.ts';

const SEED = Number(process.env.WARDEN_FUZZ_SEED ?? 20260127);
const CASES_PER_KIND = 25;
const FUZZ_ADDRESS = '127.0.0.9'; // keeps the fuzzer's auth failures (and lockout) away from 127.0.0.1

const stack = withWarden({ ollama: { chunks: 2, delayMs: 0 }, env: { WARDEN_LIMITS_HEADERS_TIMEOUT_SECONDS: '1' } });

const rand = prng(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

function assertClean(r: RawResult, label: string): void {
  for (const s of r.statuses) assert.ok(s >= 200 && s < 500, `${label}: status ${s}\n${r.text.slice(0, 300)}`);
  assert.doesNotMatch(r.text, /node:internal|\.ts:\d+:\d+|\bat [\w.<>]+ \(/, `${label}: a stack trace reached the client`);
}

/** Sends every payload on its own connection; returns every status answered. */
async function runAll(payloads: Buffer[], label: string): Promise<number[]> {
  const statuses: number[] = [];
  // a few at a time: bounded load on a 2-core machine
  for (let i = 0; i < payloads.length; i += 5) {
    const batch = payloads.slice(i, i + 5);
    const results = await Promise.all(batch.map((p) => rawExchange(stack.w, p, { localAddress: FUZZ_ADDRESS, waitMs: 1500 })));
    results.forEach((r, j) => assertClean(r, `${label} #${i + j} (seed ${SEED})`));
    for (const r of results) statuses.push(...r.statuses);
  }
  // not vacuous: the server did answer (most garbage gets a 400 before the connection closes)
  assert.ok(statuses.length >= payloads.length / 2, `${label}: only ${statuses.length} answers to ${payloads.length} payloads`);
  return statuses;
}

describe(`garbage input (seed ${SEED})`, () => {
  it('survives random bytes instead of a request', async () => {
    await runAll(Array.from({ length: CASES_PER_KIND }, () => bytes(1 + int(3000))), 'random bytes');
  });

  it('survives valid request lines followed by garbage header lines', async () => {
    const methods = ['GET', 'POST', 'DELETE', 'HEAD', 'PUT', 'PATCH', 'OPTIONS', 'G\u00c9T', 'get'];
    const paths = ['/api/chat', '/api/tags', '/', '/v1/models', '/_warden/api/status', '/api/blobs/sha256:xyz'];
    const payloads = Array.from({ length: CASES_PER_KIND }, () => {
      const lines = Array.from({ length: 1 + int(8) }, () => bytes(1 + int(80)).toString('latin1').replace(/\r|\n/g, ' '));
      return Buffer.from(head(`${pick(methods)} ${pick(paths)} HTTP/1.1`, `Host: 127.0.0.1:${stack.w.port}`, ...lines, 'Connection: close'), 'latin1');
    });
    await runAll(payloads, 'garbage headers');
  });

  it('survives authenticated requests with mutated JSON bodies', async () => {
    const valid = JSON.stringify({ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'hi' }], options: { num_ctx: 2048 }, stream: false });
    const payloads = Array.from({ length: CASES_PER_KIND }, () => {
      const body = Buffer.from(valid);
      for (let k = 0, n = 1 + int(6); k < n; k++) body[int(body.length)] = int(256);
      return Buffer.concat([
        Buffer.from(head(`POST ${pick(['/api/chat', '/api/generate', '/v1/chat/completions', '/api/show'])} HTTP/1.1`, `Host: 127.0.0.1:${stack.w.port}`, `Authorization: Bearer ${stack.w.adminKey}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close')),
        body,
      ]);
    });
    const statuses = await runAll(payloads, 'mutated JSON');
    assert.ok(statuses.includes(400), `no mutated body was refused: ${statuses.join(',')}`);
  });

  it('is still running, logged no internal error, and serves a normal client', async () => {
    assert.equal(stack.w.proc.exitCode, null, 'the server process exited');
    assert.doesNotMatch(stack.w.output(), /request handler failed|uncaught|unhandled/i);
    await assertStillServes(stack.w, stack.fake);
  });
});
