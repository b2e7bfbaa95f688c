// What `warden serve` loads is memory it carries for its whole life: V8 lets the old generation
// grow to a multiple of the live heap before it collects (bench/README.md). These tests load the
// serve command's modules in a fresh Node process, as `warden serve` does, and check that what it
// never runs stays out: all of undici (src/proxy/undici-core.ts), Node's own bundled undici (which
// an ESM import of node:http pulls in, src/node-http.ts), the ACME client and the admin API's
// Fastify (both loaded on first use), the init prompts, and @peculiar/x509 (src/tls/x509-lib.ts:
// only issuing a certificate or handling a CRL loads it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client as UndiciClient, Pool as UndiciPool } from 'undici';
import { Client, Pool } from '../../src/proxy/undici-core.ts';
import { startFakeOllama } from '../helpers/fake-ollama.ts';

const program = fileURLToPath(new URL('../../src/cli/program.ts', import.meta.url));

interface Loaded {
  nodeBundledUndici: boolean;
  packages: string[];
  /** Whether undici-core's Pool has the request() API without undici's index.js having run. */
  poolRequest: string;
}
const undiciCore = fileURLToPath(new URL('../../src/proxy/undici-core.ts', import.meta.url));

function loadedBy(file: string): Loaded {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(file)});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const packages = [...new Set(cache.map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p)?.[1]).filter(Boolean))];
    const undiciIndex = cache.some((p) => p.endsWith('/node_modules/undici/index.js'));
    const { Pool } = await import(${JSON.stringify(undiciCore)});
    console.log(JSON.stringify({
      nodeBundledUndici: process.moduleLoadList.some((m) => m.includes('internal/deps/undici')),
      packages: undiciIndex ? [...packages, 'undici (index.js)'] : packages,
      poolRequest: typeof Pool.prototype.request,
    }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out) as Loaded;
}

void test("serve's modules leave out Node's bundled undici, undici's index, acme-client, fastify, the prompts and @peculiar/x509", () => {
  const loaded = loadedBy(program);
  assert.equal(loaded.nodeBundledUndici, false, "an ESM value import of node:http (or all of undici) loaded Node's bundled undici");
  assert.ok(loaded.packages.includes('undici'), `undici's dispatcher is expected to be loaded: ${loaded.packages.join(', ')}`);
  assert.equal(loaded.poolRequest, 'function', "undici-core's Pool lacks request() when undici's index.js has not run");
  for (const unwanted of ['undici (index.js)', 'acme-client', 'fastify', '@clack/prompts', '@peculiar/x509']) {
    assert.ok(!loaded.packages.includes(unwanted), `${unwanted} is loaded by the serve path: ${loaded.packages.join(', ')}`);
  }
});

void test('the control: an ESM import of node:http does load Node bundled undici (the reason for src/node-http.ts)', () => {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "await import('node:http'); console.log(process.moduleLoadList.some((m) => m.includes('internal/deps/undici')))"], { encoding: 'utf8', cwd: dir });
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
