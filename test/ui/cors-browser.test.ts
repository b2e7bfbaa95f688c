// Browser-based Ollama clients: a page on another origin calls Warden with a key
// through fetch, in Debian's Chromium. The browser sends the preflight itself (without the key);
// Warden answers it, the real request carries the key and its answer is readable by the page.
// A page from an origin not in cors.origins gets nothing, a credentialed (cookie) fetch is never
// allowed, and no preflight ever reaches Ollama.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { browserMissing, launch } from './browser.ts';

const missing = browserMissing();
let fake: FakeOllama;
let w: RunningWarden;
let site: http.Server;
let sitePort: number;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;

before(async () => {
  if (missing) return;
  fake = await startFakeOllama({ chunks: 3, delayMs: 0 });
  w = await startWarden({ upstream: fake.url });
  // The web app: any page on an origin of its own (http://127.0.0.1:<port> is in Ollama's defaults).
  site = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>web app</title>'));
  await new Promise<void>((r) => site.listen({ port: 0, host: '::', ipv6Only: false }, r));
  sitePort = (site.address() as AddressInfo).port;
  browser = await launch();
  ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  page = await ctx.newPage();
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  site?.close();
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

const opts = { skip: missing ?? false };

type Outcome = { ok: true; status: number; text: string } | { ok: false; error: string };

/** Runs fetch inside the page (so the browser enforces CORS) and reports what the page could read. */
function pageFetch(p: Page, url: string, init: { method?: string; headers?: Record<string, string>; body?: string; credentials?: 'include' | 'omit' }): Promise<Outcome> {
  return p.evaluate(async ([u, i]) => {
    try {
      const r = await fetch(u, i as RequestInit);
      return { ok: true as const, status: r.status, text: await r.text() };
    } catch (e) {
      return { ok: false as const, error: String(e) };
    }
  }, [url, init] as const);
}

test('a page on another origin chats through Warden with a Bearer key (preflight answered by Warden)', opts, async () => {
  await page.goto(`http://127.0.0.1:${sitePort}/`);
  const before = fake.requests.length;
  const out = await pageFetch(page, `${w.url}/api/chat`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${w.adminKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.ok(out.ok, `the page could not read the answer: ${out.ok ? '' : out.error}`);
  assert.equal(out.status, 200);
  assert.equal(out.text.trim().split('\n').length, 4);
  const reached = fake.requests.slice(before);
  assert.deepEqual(reached.map((r) => r.method), ['POST'], 'only the real request reached Ollama, never the preflight');
  assert.equal(reached[0]!.headers.authorization, undefined);
});

test('the same with the key in X-API-Key, and a 401 for a wrong key is readable by the page', opts, async () => {
  await page.goto(`http://127.0.0.1:${sitePort}/`);
  const ok = await pageFetch(page, `${w.url}/api/tags`, { headers: { 'X-API-Key': w.adminKey } });
  assert.ok(ok.ok && ok.status === 200, JSON.stringify(ok));
  const bad = await pageFetch(page, `${w.url}/api/tags`, { headers: { Authorization: 'Bearer owk_wrong' } });
  assert.ok(bad.ok, `the page could not read the refusal: ${JSON.stringify(bad)}`);
  assert.equal(bad.status, 401);
});

test('a credentialed fetch (cookies) is never allowed', opts, async () => {
  await page.goto(`http://127.0.0.1:${sitePort}/`);
  const out = await pageFetch(page, `${w.url}/api/tags`, { headers: { Authorization: `Bearer ${w.adminKey}` }, credentials: 'include' });
  assert.equal(out.ok, false, 'Warden allowed credentials');
});

test('a page from an origin not in cors.origins cannot read anything, and its preflight never reaches Ollama', opts, async () => {
  // [::1] is this machine too, but not one of Ollama's default origins
  await page.goto(`http://[::1]:${sitePort}/`);
  const before = fake.requests.length;
  const out = await pageFetch(page, `${w.url}/api/tags`, { headers: { Authorization: `Bearer ${w.adminKey}` } });
  assert.equal(out.ok, false);
  assert.equal(fake.requests.length, before);
});

test('the admin API is never granted to another origin', opts, async () => {
  await page.goto(`http://127.0.0.1:${sitePort}/`);
  const out = await pageFetch(page, `${w.url}/_warden/api/keys`, { headers: { Authorization: `Bearer ${w.adminKey}` } });
  assert.equal(out.ok, false);
});
