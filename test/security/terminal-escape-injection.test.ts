// Terminal escape injection: a key with only `inference` puts ANSI/OSC escapes, CR, fake lines
// and bidi overrides into a model name; an upstream does the same in its /api/version string.
// None of it may reach an operator's terminal raw: not through `warden audit` (table or --json),
// not through `warden status`, not through the audit file itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { withWarden, runCli } from '../helpers/warden.ts';
import { auditLines, createKeyViaCli, waitForAudit } from './helpers.ts';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inert, inertDeep, safeJson } from '../../src/inert-text.ts';

/** Every character class that acts on a terminal or reorders text (LF is the line separator of
 *  the output itself and is checked apart). */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

const EVIL_MODEL = 'llama3.2\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007\r\n2026-01-01T00:00:00Z  request  admin  10.0.0.1  GET /  200  fine\u001b[2K\u009b31m\u202egnp.exe\u2066\u2028';
const EVIL_VERSION = '0.12.0\u001b]0;owned\u0007\u001b[1A\u001b[2Kreachable\u202e';

let inferenceOnly: { id: string; key: string };

const stack = withWarden({
  ollama: { chunks: 1, delayMs: 0, version: EVIL_VERSION },
  afterStart: async () => {
    inferenceOnly = await createKeyViaCli(stack.w, ['--name', 'inference-only', '--scope', 'inference', '--model', 'qwen*']);
  },
});

function assertInert(text: string, what: string): void {
  const m = RAW.exec(text);
  assert.equal(m, null, `${what} carries U+${m ? m[0].codePointAt(0)!.toString(16).padStart(4, '0') : ''} raw:\n${JSON.stringify(text)}`);
}

describe('terminal escape injection', () => {
  it('a model name with escapes is stored inert in the audit log and shown inert by `warden audit`', async () => {
    const res = await request(`${stack.w.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${inferenceOnly.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: EVIL_MODEL, messages: [{ role: 'user', content: 'hi' }] }),
      dispatcher: stack.w.dispatcher,
    });
    await res.body.text();
    assert.ok(res.statusCode >= 400, `the request was not refused: ${res.statusCode}`);
    const line = await waitForAudit(stack.w, (l) => l.keyId === inferenceOnly.id && l.path === '/api/chat');
    for (const l of auditLines(stack.w)) for (const [k, v] of Object.entries(l)) if (typeof v === 'string') assertInert(v, `audit field ${k}`);
    assert.ok(line.reason && line.reason.includes('llama3.2'), `the reason no longer names the model: ${line.reason}`);

    const table = await runCli(['audit'], { dataDir: stack.w.dataDir });
    assert.equal(table.code, 0, table.stderr);
    assertInert(table.stdout, '`warden audit`');
    assert.ok(!table.stdout.split('\n').some((l) => l.startsWith('2026-01-01T00:00:00Z')), 'a forged line starts a row of `warden audit`');

    const json = await runCli(['audit', '--json'], { dataDir: stack.w.dataDir });
    assert.equal(json.code, 0, json.stderr);
    assertInert(json.stdout, '`warden audit --json`');
    for (const l of json.stdout.trim().split('\n')) JSON.parse(l); // still valid JSON lines
  });

  it("an upstream's /api/version string is shown inert by `warden status` (text and --json)", async () => {
    const text = await runCli(['status'], { dataDir: stack.w.dataDir });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /source:\s+running server/);
    assertInert(text.stdout, '`warden status`');
    assert.ok(text.stdout.includes('0.12.0\\x1b]0;owned\\x07'), `the version is not shown with visible escapes:\n${text.stdout}`);
    const json = await runCli(['status', '--json'], { dataDir: stack.w.dataDir });
    assertInert(json.stdout, '`warden status --json`');
    const parsed = JSON.parse(json.stdout) as { upstream: { version: string } };
    assert.equal(parsed.upstream.version, EVIL_VERSION, '--json must still carry the exact value once parsed');
  });
});

describe('inert(): the one escaping function', () => {
  it('escapes C0, DEL, C1, line separators and every bidi override or isolate, and nothing else', () => {
    for (const cp of [0x00, 0x07, 0x08, 0x09, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0x85, 0x9b, 0x9f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      const out = inert(`a${String.fromCodePoint(cp)}b`);
      assert.notEqual(out, `a${String.fromCodePoint(cp)}b`, `U+${cp.toString(16)} passed raw`);
      assert.ok(/^a\\(x|u)[0-9a-f]+b$/.test(out), out);
    }
    for (const ok of ['llama3.2:latest', 'qwen2.5/7b', 'héllo wörld', '日本語', 'emoji 🦙', 'a\u00a0b']) assert.equal(inert(ok), ok);
  });

  it('inertDeep (the UI) and safeJson (--json) leave no raw character and keep JSON valid', () => {
    const value = { model: EVIL_MODEL, nested: [{ [EVIL_VERSION]: EVIL_VERSION }], n: 3, b: true, z: null };
    assertInert(JSON.stringify(inertDeep(value)).replace(/\\n/g, ''), 'inertDeep');
    const json = safeJson(value, 2);
    assertInert(json.replace(/\n/g, ''), 'safeJson');
    assert.deepEqual(JSON.parse(json), value);
  });
});

describe('server log lines', () => {
  it('carry C1, line separators and bidi overrides escaped (pino escapes only C0), as the same JSON value', () => {
    const logger = fileURLToPath(new URL('../../src/cli/logger.ts', import.meta.url));
    const script = `import { createLogger } from ${JSON.stringify(logger)}; createLogger().warn({ model: process.env.EVIL }, 'upstream said ' + process.env.EVIL);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, EVIL: EVIL_MODEL } });
    assert.equal(r.status, 0, r.stderr);
    assertInert(r.stdout.replace(/\n$/, ''), 'a server log line');
    const line = JSON.parse(r.stdout) as { model: string; msg: string };
    assert.equal(line.model, EVIL_MODEL, 'the logged value must be unchanged once parsed');
  });
});
