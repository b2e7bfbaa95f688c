// What `warden serve` loads is memory it carries for its whole life: V8 lets the old generation
// grow to a multiple of the live heap before it collects (bench/README.md). These tests record
// every module a fresh Node process loads (a `module.registerHooks` load hook, which sees ESM and
// CommonJS alike) and check that what the gateway never runs stays out:
// - all of undici (src/proxy/undici-core.ts loads Pool and Client alone);
// - Node's own bundled undici, which an ESM import of node:http pulls in (src/node-http.ts);
// - acme-client (ACME mode only) and Fastify (the first admin request);
// - @clack/prompts (an interactive init only);
// - @peculiar/x509 (only to issue a certificate or handle a CRL: src/tls/x509-lib.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as UndiciClient, Pool as UndiciPool, request } from 'undici';
import { Client, Pool } from '../../src/proxy/undici-core.ts';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { removeDir, startWarden, tempDir } from '../helpers/warden.ts';

/** Records loaded modules; at exit writes { packages, nodeBundledUndici } to $FOOTPRINT_DIR/<pid>.json. */
const RECORDER = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const urls = new Set();
registerHooks({ load(url, context, nextLoad) { urls.add(url); return nextLoad(url, context); } });
export function report() {
  const packages = [...new Set([...urls].map((u) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(u)?.[1]).filter(Boolean))];
  if ([...urls].some((u) => u.endsWith('/node_modules/undici/index.js'))) packages.push('undici (index.js)');
  return { packages, nodeBundledUndici: process.moduleLoadList.some((m) => m.includes('internal/deps/undici')) };
}
if (process.env.FOOTPRINT_DIR) process.on('exit', () => writeFileSync(process.env.FOOTPRINT_DIR + '/' + process.pid + '.json', JSON.stringify(report())));
`;

const UNWANTED = ['undici (index.js)', 'acme-client', 'fastify', '@clack/prompts', '@peculiar/x509'];

interface Footprint {
  packages: string[];
  nodeBundledUndici: boolean;
}

let dir: string;
let recorder: string;

before(() => {
  dir = tempDir('warden-footprint-');
  recorder = join(dir, 'recorder.mjs');
  writeFileSync(recorder, RECORDER);
});
after(() => removeDir(dir));

function assertLean(f: Footprint, what: string): void {
  assert.equal(f.nodeBundledUndici, false, `${what}: Node's bundled undici is loaded (an ESM value import of node:http, or all of undici)`);
  assert.ok(f.packages.includes('undici'), `${what}: undici's dispatcher is expected: ${f.packages.join(', ')}`);
  for (const unwanted of UNWANTED) assert.ok(!f.packages.includes(unwanted), `${what}: ${unwanted} is loaded: ${f.packages.join(', ')}`);
}

void test("serve's modules leave out Node's bundled undici, undici's index, acme-client, fastify, the prompts and @peculiar/x509", () => {
  const program = fileURLToPath(new URL('../../src/cli/program.ts', import.meta.url));
  const undiciCore = fileURLToPath(new URL('../../src/proxy/undici-core.ts', import.meta.url));
  const script = `
    const { report } = await import(${JSON.stringify(recorder)});
    await import(${JSON.stringify(program)});
    const { Pool } = await import(${JSON.stringify(undiciCore)});
    console.log(JSON.stringify({ ...report(), poolRequest: typeof Pool.prototype.request }));
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Footprint & { poolRequest: string };
  assertLean(out, 'loading src/cli/program.ts');
  assert.ok(out.packages.includes('zod') && out.packages.includes('kysely'), `control: the recorder sees ESM packages too: ${out.packages.join(', ')}`);
  assert.equal(out.poolRequest, 'function', "undici-core's Pool lacks request() when undici's index.js has not run");
});

void test('a running warden serve, after proxied, streamed and refused requests, has loaded none of them either', async (t) => {
  let ollama: FakeOllama | null = await startFakeOllama({ models: ['llama3.2:latest'] });
  // init (another process) issues the certificate; serve reuses it, as on every later start.
  const w = await startWarden({ upstream: ollama.url, env: { NODE_OPTIONS: `--import=${recorder}`, FOOTPRINT_DIR: dir } });
  t.after(async () => {
    await w.stop();
    await ollama?.close();
  });
  const auth = { authorization: `Bearer ${w.adminKey}` };
  const tags = await request(`${w.url}/api/tags`, { headers: auth, dispatcher: w.dispatcher });
  assert.equal(tags.statusCode, 200);
  await tags.body.dump();
  const chat = await request(`${w.url}/api/chat`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }),
    dispatcher: w.dispatcher,
  });
  assert.equal(chat.statusCode, 200);
  assert.match(await chat.body.text(), /"done":true/);
  const refused = await request(`${w.url}/api/tags`, { headers: { authorization: 'Bearer owk_nope' }, dispatcher: w.dispatcher });
  assert.equal(refused.statusCode, 401);
  await refused.body.dump();
  const pid = w.proc.pid!;
  assert.equal(await w.stop(), 0);
  await ollama.close();
  ollama = null;
  assertLean(JSON.parse(readFileSync(join(dir, `${pid}.json`), 'utf8')) as Footprint, 'warden serve');
});

void test('the control: an ESM import of node:http does load Node bundled undici (the reason for src/node-http.ts)', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "await import('node:http'); console.log(process.moduleLoadList.some((m) => m.includes('internal/deps/undici')))"], { encoding: 'utf8' });
  // If a Node release stops doing this, src/node-http.ts can go: this test says so.
  assert.equal(out.trim(), 'true');
});

void test("undici-core hands out undici's own Pool and Client, and a request goes through", async () => {
  assert.equal(Pool, UndiciPool);
  assert.equal(Client, UndiciClient);
  const ollama = await startFakeOllama({ models: ['llama3.2:latest'] });
  const pool = new Pool(ollama.url, { connections: 1 });
  try {
    const { statusCode, body } = await pool.request({ path: '/api/version', method: 'GET' });
    assert.equal(statusCode, 200);
    assert.equal(typeof ((await body.json()) as { version?: unknown }).version, 'string');
  } finally {
    await pool.close();
    await ollama.close();
  }
});
