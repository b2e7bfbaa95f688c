// The whole gateway as a user runs it: `warden init` + `warden serve` as child processes, a
// real TLS listener, the real SQLite store, and the fake Ollama recording what reaches it.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { request, type Dispatcher } from 'undici';
import { startFakeOllama } from '../helpers/fake-ollama.ts';
import { withWarden, startWarden, runCli, removeDir } from '../helpers/warden.ts';
import { generateKey } from '../../src/auth/key-format.ts';

async function call(
  path: string,
  opts: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: unknown; key?: string | null } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: () => unknown }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const key = opts.key === undefined ? stack.w.adminKey : opts.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${stack.w.url}${path}`, {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    dispatcher: stack.w.dispatcher,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** Creates a key from the CLI and waits until the running server accepts it (≤ 1 s). */
async function createKey(args: string[]): Promise<{ id: string; key: string }> {
  const r = await runCli(['keys', 'create', '--json', ...args], { dataDir: stack.w.dataDir });
  assert.equal(r.code, 0, r.stderr);
  const k = JSON.parse(r.stdout) as { id: string; key: string };
  for (let i = 0; i < 40; i++) {
    if ((await call('/_warden/health', { key: null })).status !== 200) break;
    const probe = await call('/api/version', { key: k.key });
    if (probe.status !== 401) return k;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the new key never reached the server');
}

function reachedUpstream(pathPrefix: string): number {
  return stack.fake.requests.filter((r) => r.url.startsWith(pathPrefix)).length;
}

const stack = withWarden({
  ollama: { foreignHostCheck: true, chunks: 5, delayMs: 30 },
  afterStart: async () => {
    assert.match(stack.w.adminKey, /^owk_/);
  },
});

describe('authentication', () => {
  const everyRoute: Array<[Dispatcher.HttpMethod, string]> = [
    ['GET', '/'],
    ['GET', '/api/version'],
    ['GET', '/api/tags'],
    ['GET', '/api/ps'],
    ['POST', '/api/show'],
    ['POST', '/api/generate'],
    ['POST', '/api/chat'],
    ['POST', '/api/embed'],
    ['POST', '/api/embeddings'],
    ['POST', '/api/pull'],
    ['POST', '/api/push'],
    ['POST', '/api/create'],
    ['POST', '/api/copy'],
    ['DELETE', '/api/delete'],
    ['HEAD', '/api/blobs/sha256:' + 'a'.repeat(64)],
    ['POST', '/v1/chat/completions'],
    ['POST', '/v1/completions'],
    ['POST', '/v1/embeddings'],
    ['GET', '/v1/models'],
    ['POST', '/v1/responses'],
    ['POST', '/_warden/api/keys'],
    ['GET', '/api/me'],
    ['GET', '/nonexistent'],
  ];

  it('refuses every route without credentials with 401 and WWW-Authenticate, and Ollama sees nothing (open-server scanning)', async () => {
    const before = stack.fake.requests.length;
    for (const [method, path] of everyRoute) {
      const r = await call(path, { method, key: null, body: method === 'POST' ? { model: 'llama3.2' } : undefined });
      assert.equal(r.status, 401, `${method} ${path}: got ${r.status}, want 401`);
      if (!path.startsWith('/_warden/')) {
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="warden"', `${method} ${path}`);
        if (method !== 'HEAD') {
          // each API's own error shape: Ollama's {"error": "…"}, OpenAI's {"error": {"message"}}, Anthropic's {"type":"error",…}
          const e = (r.json() as { error?: unknown }).error;
          const message = path.startsWith('/v1/') ? (e as { message?: unknown } | undefined)?.message : e;
          assert.ok(typeof message === 'string', `${method} ${path}: the error shape of its API`);
          if (path === '/v1/messages') assert.equal((r.json() as { type?: unknown }).type, 'error');
        }
      }
    }
    assert.equal(stack.fake.requests.length, before, 'the upstream received a request without credentials');
  });

  it('answers the health check without credentials', async () => {
    const r = await call('/_warden/health', { key: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
  });

  it('accepts the same key as Bearer, X-API-Key and Basic', async () => {
    const viaBearer = await call('/api/version');
    assert.equal(viaBearer.status, 200);
    const viaHeader = await call('/api/version', { key: null, headers: { 'x-api-key': stack.w.adminKey } });
    assert.equal(viaHeader.status, 200);
    const basic = Buffer.from(`anyone:${stack.w.adminKey}`).toString('base64');
    const viaBasic = await call('/api/version', { key: null, headers: { authorization: `Basic ${basic}` } });
    assert.equal(viaBasic.status, 200);
    const lower = await call('/api/version', { key: null, headers: { authorization: `bearer ${stack.w.adminKey}` } });
    assert.equal(lower.status, 200, 'the scheme word is case-insensitive');
  });

  it('refuses two credentials at once with 400 (credential confusion)', async () => {
    const before = stack.fake.requests.length;
    const r = await call('/api/version', { headers: { 'x-api-key': stack.w.adminKey } });
    assert.equal(r.status, 400);
    const q = await call(`/api/version?key=${stack.w.adminKey}`, { key: null });
    assert.equal(q.status, 400, 'a key in the query string is refused');
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses a key with a wrong checksum, and a well-formed unknown key, with the same 401 body', async () => {
    const k = stack.w.adminKey;
    const flipped = k.slice(0, -1) + (k.endsWith('A') ? 'B' : 'A');
    const bad = await call('/api/version', { key: flipped });
    const unknown = await call('/api/version', { key: generateKey().key });
    assert.equal(bad.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(bad.text, unknown.text, 'bodies must not tell the two cases apart');
  });

  it('strips the credentials and rewrites Host before Ollama sees the request', async () => {
    const r = await call('/api/tags');
    assert.equal(r.status, 200, r.text);
    const seen = stack.fake.requests.at(-1)!;
    assert.equal(seen.url, '/api/tags');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers['x-api-key'], undefined);
    assert.equal(seen.headers.host, `127.0.0.1:${stack.fake.port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.ok(String(seen.headers['x-forwarded-for']).includes('127.0.0.1'));
  });

  it('sends HSTS on every TLS response', async () => {
    for (const path of ['/api/version', '/nonexistent', '/_warden/health']) {
      const r = await call(path);
      assert.match(String(r.headers['strict-transport-security']), /max-age=\d+/, path);
    }
    const refused = await call('/api/version', { key: null });
    assert.match(String(refused.headers['strict-transport-security']), /max-age=\d+/);
  });
});

describe('routes, scopes and models', () => {
  let chatOnly: { id: string; key: string };
  let llamaOnly: { id: string; key: string };

  before(async () => {
    chatOnly = await createKey(['--name', 'chat-only', '--scope', 'inference']);
    llamaOnly = await createKey(['--name', 'llama-only', '--model', 'llama3.*']);
  });

  it('gives new keys inference + models:read', async () => {
    const r = await runCli(['keys', 'show', llamaOnly.id, '--json'], { dataDir: stack.w.dataDir });
    assert.deepEqual((JSON.parse(r.stdout) as { scopes: string[] }).scopes.sort(), ['inference', 'models:read']);
  });

  it('keeps a chat key away from /api/push and /api/delete (403, never forwarded)', async () => {
    const before = reachedUpstream('/api/push') + reachedUpstream('/api/delete');
    const push = await call('/api/push', { key: chatOnly.key, body: { model: 'llama3.2' } });
    assert.equal(push.status, 403);
    const del = await call('/api/delete', { method: 'DELETE', key: chatOnly.key, body: { model: 'llama3.2' } });
    assert.equal(del.status, 403);
    assert.equal(reachedUpstream('/api/push') + reachedUpstream('/api/delete'), before);
  });

  it('refuses a model outside the key patterns, for native and OpenAI bodies', async () => {
    const native = await call('/api/chat', { key: llamaOnly.key, body: { model: 'qwen2.5:7b', messages: [], stream: false } });
    assert.equal(native.status, 403);
    const openai = await call('/v1/chat/completions', { key: llamaOnly.key, body: { model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(openai.status, 403);
    const ok = await call('/api/chat', { key: llamaOnly.key, body: { model: 'llama3.2', messages: [], stream: false } });
    assert.equal(ok.status, 200, ok.text);
  });

  it('lists only the models a key may see in /api/tags and /v1/models', async () => {
    const tags = (await call('/api/tags', { key: llamaOnly.key })).json() as { models: Array<{ name: string }> };
    assert.deepEqual(tags.models.map((m) => m.name), ['llama3.2:latest']);
    const v1 = (await call('/v1/models', { key: llamaOnly.key })).json() as { data: Array<{ id: string }> };
    assert.deepEqual(v1.data.map((m) => m.id), ['llama3.2:latest']);
  });

  it('reflects a changed model list at once (the filtered answer is reused only while Ollama’s is unchanged)', async () => {
    const names = async (): Promise<string[]> => ((await call('/api/tags', { key: llamaOnly.key })).json() as { models: Array<{ name: string }> }).models.map((m) => m.name);
    assert.deepEqual(await names(), ['llama3.2:latest']);
    assert.deepEqual(await names(), ['llama3.2:latest']);
    stack.fake.setModels(['llama3.2:latest', 'llama3.3:70b', 'qwen2.5:7b']);
    try {
      assert.deepEqual((await names()).sort(), ['llama3.2:latest', 'llama3.3:70b']);
    } finally {
      stack.fake.setModels(['llama3.2:latest', 'qwen2.5:7b', 'nomic-embed-text:latest', 'gpt-oss:120b-cloud']);
    }
    assert.deepEqual(await names(), ['llama3.2:latest']);
  });

  it('refuses cloud models and account routes by default (they spend the owner’s ollama.com account)', async () => {
    const cloud = await call('/api/chat', { body: { model: 'gpt-oss:120b-cloud', messages: [] } });
    assert.equal(cloud.status, 403);
    // Ollama has /api/me (the signed-in ollama.com account); Warden lists it and refuses it by policy.
    const me = await call('/api/me', { method: 'POST', body: {} });
    assert.equal(me.status, 403, me.text);
    const tags = (await call('/api/tags')).json() as { models: Array<{ name: string }> };
    assert.ok(!tags.models.some((m) => m.name.endsWith('-cloud')), 'cloud models are hidden from the list');
  });

  it('refuses the admin API to a key without the admin scope (403) and serves it to an admin key', async () => {
    // Enforced by the admin app's requireAdmin (src/admin/auth.ts); the route table has no entry.
    const refused = await call('/_warden/api/status', { method: 'GET', key: llamaOnly.key });
    assert.equal(refused.status, 403, refused.text);
    assert.equal((refused.json() as { code?: string }).code, 'WARDEN_ERR_FORBIDDEN_SCOPE');
    const served = await call('/_warden/api/status', { method: 'GET' });
    assert.equal(served.status, 200, served.text);
  });

  it('answers 404 for routes Ollama has but Warden does not list, without forwarding', async () => {
    const before = stack.fake.requests.length;
    const got: Record<string, number> = {};
    for (const path of ['/api/experimental/x', '/debug/pprof', '/api/tags/../push', '/API/tags', '/api//tags', '/api/%2e%2e/push']) {
      got[path] = (await call(path)).status;
    }
    // The answers production gives (each pinned, not "one of 400/403/404"). The client resolves
    // `..` and `%2e%2e` itself (WHATWG URL), so those two arrive as GET /api/push: a route Warden
    // lists for POST only (raw dot-segments are test/security's, sent byte for byte).
    assert.deepEqual(got, {
      '/api/experimental/x': 403,
      '/debug/pprof': 403,
      '/api/tags/../push': 404,
      '/API/tags': 404,
      '/api//tags': 400,
      '/api/%2e%2e/push': 404,
    });
    assert.equal(stack.fake.requests.length, before);
  });

  it('refuses insecure pulls and malformed blob digests', async () => {
    const pull = await call('/api/pull', { body: { model: 'llama3.2', insecure: true } });
    assert.equal(pull.status, 403);
    const blob = await call('/api/blobs/sha256:xyz', { method: 'HEAD' });
    assert.equal(blob.status, 400);
  });

  it('refuses a body that is not JSON where JSON is required', async () => {
    const r = await call('/api/chat', { body: 'not json' });
    assert.equal(r.status, 400);
  });
});

describe('streaming proxy', () => {
  it('passes NDJSON chunks through before the stream ends', async () => {
    const res = await request(`${stack.w.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.w.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }),
      dispatcher: stack.w.dispatcher,
    });
    assert.equal(res.statusCode, 200);
    const arrivals: number[] = [];
    let text = '';
    for await (const chunk of res.body) {
      arrivals.push(Date.now());
      text += String(chunk);
    }
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { done: boolean });
    assert.equal(lines.at(-1)!.done, true);
    assert.ok(arrivals.length >= 3, `got ${arrivals.length} separate chunks; the proxy buffered the stream`);
    assert.ok(arrivals.at(-1)! - arrivals[0]! >= 60, 'chunks arrived spread over the stream, not at once');
  });

  it('passes SSE for /v1/chat/completions', async () => {
    const r = await call('/v1/chat/completions', { body: { model: 'llama3.2', stream: true, messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/event-stream/);
    assert.match(r.text, /data: \[DONE\]/);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    const slow = await startFakeOllama({ chunks: 200, delayMs: 50 });
    const w2 = await startWarden({ upstream: slow.url });
    try {
      const ac = new AbortController();
      const res = await request(`${w2.url}/api/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${w2.adminKey}` },
        body: JSON.stringify({ model: 'llama3.2', prompt: 'hi' }),
        dispatcher: w2.dispatcher,
        signal: ac.signal,
      });
      const it = res.body[Symbol.asyncIterator]();
      await it.next();
      ac.abort();
      const deadline = Date.now() + 2000;
      while (!slow.requests.at(-1)?.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      assert.equal(slow.requests.at(-1)?.aborted, true, 'the upstream request was not aborted within 2 s');
    } finally {
      await w2.stop();
      await slow.close();
      removeDir(w2.dataDir);
    }
  });

  it('answers 502 with the error shape when Ollama is down, quickly', async () => {
    const w2 = await startWarden({ upstream: 'http://127.0.0.1:9' });
    try {
      const t0 = Date.now();
      const res = await request(`${w2.url}/api/tags`, { headers: { authorization: `Bearer ${w2.adminKey}` }, dispatcher: w2.dispatcher });
      const body = (await res.body.json()) as { error: string };
      assert.equal(res.statusCode, 502);
      assert.equal(body.error, 'upstream Ollama is unreachable');
      assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1|localhost|:\d{2,5}/);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await w2.stop();
      removeDir(w2.dataDir);
    }
  });

  it('refuses a JSON body over limits.maxBodyBytes with 413 before reading it, and Ollama sees nothing', async () => {
    const before = stack.fake.requests.length;
    // Declare 65 MiB (over the 64 MiB default) but send only the first bytes: the answer must come without waiting for the rest.
    const reply = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: stack.w.port, ca: stack.w.caPem, servername: 'localhost' }, () => {
        s.write(`POST /api/generate HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${stack.w.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${65 * 1024 * 1024}\r\n\r\n{"model":"llama3.2","prompt":"`);
      });
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('end', () => resolve(got));
      s.on('close', () => resolve(got));
      s.on('error', reject);
      setTimeout(() => resolve(got), 5000);
    });
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.match(reply, /"error":/);
    assert.equal(stack.fake.requests.length, before);
  });
});

describe('TLS defaults', () => {
  it('refuses a TLS 1.2 client', async () => {
    const err = await new Promise<Error | null>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: stack.w.port, ca: stack.w.caPem, maxVersion: 'TLSv1.2', servername: 'localhost' }, () => {
        s.end();
        resolve(null);
      });
      s.on('error', resolve);
    });
    assert.ok(err, 'a TLS 1.2 handshake succeeded');
  });

  it('negotiates TLS 1.3 with a certificate for localhost and 127.0.0.1', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const proto = await new Promise<string | null>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: stack.w.port, ca: stack.w.caPem, servername: host === '127.0.0.1' ? undefined : host }, () => {
          const p = s.getProtocol();
          s.end();
          resolve(p);
        });
        s.on('error', reject);
      });
      assert.equal(proto, 'TLSv1.3', host);
    }
  });
});

describe('secrets at rest', () => {
  it('never writes a key secret into the data dir or the logs', async () => {
    const k = await createKey(['--name', 'secret-check']);
    await call('/api/version', { key: k.key });
    await call('/api/version', { key: k.key + 'x' });
    // Issue 15 #6: keys put where they do not belong — the query string, the path (plain and
    // percent-encoded), the admin sign-in URL, a refused CONNECT or Upgrade line.
    const leaks = await createKey(['--name', 'secret-leaks']);
    const enc = leaks.key.replace('_', '%5F').replace('o', '%6f');
    for (const path of [`/api/version?api_key=${leaks.key}`, `/api/tags?x=1&key=${enc}`, `/${leaks.key}`, `/api/${enc}/x`, `/_warden/api/session?key=${leaks.key}`]) {
      await call(path, { key: null });
      await call(path, { key: leaks.key });
    }
    const signin = await request(`${stack.w.url}/_warden/api/session?key=${leaks.key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: leaks.key + 'x' }), dispatcher: stack.w.dispatcher });
    await signin.body.text();
    for (const head of [`CONNECT ${leaks.key}.example:443 HTTP/1.1\r\nHost: x\r\n\r\n`, `GET /api/chat?api_key=${leaks.key} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`]) {
      await new Promise<void>((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port: stack.w.port, ca: stack.w.caPem, servername: 'localhost' }, () => s.write(head));
        s.on('data', () => s.end());
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 600)); // audit batch
    const audit = readFileSync(join(stack.w.dataDir, 'audit', 'audit.log'), 'utf8');
    assert.match(audit, /api_key=\[redacted\]/, 'the refused requests were audited');
    assert.match(audit, /CONNECT/);
    const secrets = [stack.w.adminKey, k.key, k.key.slice(-20), leaks.key, leaks.key.slice(-20), leaks.key.slice(4, 30)];
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    for (const file of walk(stack.w.dataDir)) {
      const content = readFileSync(file);
      for (const s of secrets) assert.ok(!content.includes(s), `${file} contains a key secret`);
    }
    for (const s of secrets) assert.ok(!stack.w.output().includes(s), 'the server log contains a key secret');
  });

  it('keeps the database and private keys mode 0600', () => {
    for (const f of ['warden.db', 'tls/ca-key.pem', 'tls/server-key.pem', 'warden.yaml']) {
      assert.equal(statSync(join(stack.w.dataDir, f)).mode & 0o077, 0, `${f} is readable by group or others`);
    }
  });
});
