// A stream Warden cuts ends with a last record the client can show: an
// {"error":"…"} line in NDJSON (what ollama-js throws), an SSE `error` event on /v1 (what the
// OpenAI SDK throws). Covered: a key revoked mid-stream, Ollama lost mid-answer, and Warden
// shutting down under a running stream. The real CLI revokes, real SDKs read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetch as undiciFetch, request } from 'undici';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { withWarden, runCli, startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { createKeyViaCli, waitForAudit } from '../security/helpers.ts';
import { streamErrorLine } from '../../src/proxy/stream-error.ts';

const stack = withWarden({ ollama: { chunks: 400, delayMs: 50 } });

function trustingFetch(dispatcher: RunningWarden['dispatcher']): typeof fetch {
  return ((url: string, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

/** Reads a streamed answer as raw text until the server ends or cuts it. */
async function readAll(path: string, body: unknown, headers: Record<string, string>, onFirst?: () => void, target = stack.w): Promise<string> {
  const res = await request(`${target.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    dispatcher: target.dispatcher,
  });
  assert.equal(res.statusCode, 200);
  let text = '';
  try {
    for await (const chunk of res.body) {
      if (text === '') onFirst?.();
      text += (chunk as Buffer).toString();
    }
  } catch {
    // cut: what arrived before is what the client has
  }
  return text;
}

/** Reads an SDK's stream, revoking key `id` with the real CLI at its first part; returns what the
 *  read threw (null: the stream ended cleanly) and how many parts arrived before. */
async function readWhileRevoking<T>(id: string, open: () => Promise<AsyncIterable<T>>, check: (part: T) => void): Promise<{ err: Error | null; parts: number }> {
  let parts = 0;
  let revoked: Promise<unknown> | null = null;
  let err: Error | null = null;
  try {
    for await (const part of await open()) {
      check(part);
      parts++;
      revoked ??= runCli(['keys', 'revoke', id], { dataDir: stack.w.dataDir });
    }
  } catch (e) {
    err = e as Error;
  }
  await revoked;
  return { err, parts };
}

describe('a stream Warden cuts ends with an error record', () => {
  it('NDJSON: a key revoked mid-stream — ollama-js throws the message', async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'cut-ndjson', '--scope', 'inference']);
    const ollama = new Ollama({ host: stack.w.url, headers: { Authorization: `Bearer ${k.key}` }, fetch: trustingFetch(stack.w.dispatcher) });
    const { err, parts } = await readWhileRevoking(
      k.id,
      () => ollama.generate({ model: 'llama3.2', prompt: 'long story', stream: true }),
      (part) => assert.ok(part.response?.startsWith('tok')),
    );
    assert.ok(err, 'the stream ended without an error');
    assert.match(err.message, /stream cut by Warden: key revoked/);
    assert.ok(parts >= 1 && parts < 400);
    await waitForAudit(stack.w, (l) => l.keyId === k.id && (l.reason ?? '').includes('key revoked'));
  });

  it('SSE on /v1: a key revoked mid-stream — the OpenAI SDK throws the message', async () => {
    const k = await createKeyViaCli(stack.w, ['--name', 'cut-sse', '--scope', 'inference']);
    const client = new OpenAI({ baseURL: `${stack.w.url}/v1`, apiKey: k.key, maxRetries: 0, fetch: trustingFetch(stack.w.dispatcher) });
    const { err, parts } = await readWhileRevoking(
      k.id,
      () => client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'long story' }], stream: true }),
      (chunk) => assert.equal(chunk.object, 'chat.completion.chunk'),
    );
    assert.ok(err, 'the stream ended without an error');
    assert.match(err.message, /stream cut by Warden: key revoked/);
    assert.ok(parts >= 1);
  });

  it('NDJSON: Ollama lost mid-answer — the last line says so, without naming the upstream', async () => {
    const text = await readAll('/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${stack.w.adminKey}`, 'x-fake-die-after': '3', 'x-fake-delay-ms': '20' });
    const lines = text.split('\n').filter(Boolean);
    assert.equal(lines.length, 4, text);
    assert.deepEqual(JSON.parse(lines[3]!), { error: 'answer cut: upstream Ollama failed mid-answer' });
    assert.ok(!text.includes(stack.fake.url) && !text.includes(String(stack.fake.port)));
  });

  it('the error record starts on a line of its own, in the shape of the stream', () => {
    const line = (ct: string, atLineStart: boolean, path = '/api/generate'): string | undefined => streamErrorLine(ct, 'x', atLineStart, path)?.toString();
    assert.equal(line('application/x-ndjson', false), '\n{"error":"x"}\n');
    assert.equal(line('application/x-ndjson', true), '{"error":"x"}\n');
    assert.match(line('text/event-stream', true, '/v1/chat/completions') ?? '', /^\ndata: \{"error":\{"message":"x","type":"api_error"/);
    assert.equal(line('text/event-stream', false, '/v1/messages'), '\n\nevent: error\ndata: {"type":"error","error":{"type":"api_error","message":"x"}}\n\n');
    assert.equal(line('application/octet-stream', true), undefined);
  });

  it('NDJSON: Warden shutting down under a running stream — the last line says so', async () => {
    const own = await startWarden({ upstream: stack.fake.url });
    try {
      const exited = new Promise((r) => own.proc.once('exit', r));
      // SIGTERM as a service manager sends it; own.stop() would close the test's own dispatcher first
      const text = await readAll('/api/generate', { model: 'llama3.2', prompt: 'long story' }, { authorization: `Bearer ${own.adminKey}` }, () => own.proc.kill('SIGTERM'), own);
      await exited;
      const last = JSON.parse(text.trim().split('\n').at(-1)!) as { error?: string };
      assert.match(last.error ?? '', /shutting down/);
    } finally {
      await own.stop();
      removeDir(own.dataDir);
    }
  });
});
