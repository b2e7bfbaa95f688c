// The admin UI end to end: the real `warden serve` child process (built dist/, local CA), a
// stand-in Ollama, and Debian's Chromium. The Status page must agree with `warden status --json`,
// and keys made and revoked in the browser must be accepted and refused by the real proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, runCli, removeDir, type RunningWarden } from '../helpers/warden.ts';
import { SHOTS, browserMissing, ensureWebBuilt, launch } from './browser.ts';

const missing = browserMissing();
let fake: FakeOllama;
let w: RunningWarden;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const cspViolations: string[] = [];

async function proxyStatus(key: string): Promise<number> {
  const res = await request(`${w.url}/api/tags`, { headers: { authorization: `Bearer ${key}` }, dispatcher: w.dispatcher });
  await res.body.text();
  return res.statusCode;
}

/** The server polls the store; give a change made elsewhere up to 2 s to arrive. */
async function eventually(fn: () => Promise<boolean>, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return fn();
}

before(async () => {
  if (missing) return;
  ensureWebBuilt();
  fake = await startFakeOllama();
  w = await startWarden({ upstream: fake.url });
  assert.match(w.adminKey, /^owk_/, 'warden init printed the admin key');
  browser = await launch();
  ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  await w?.stop();
  await fake?.close();
  if (w) removeDir(w.dataDir);
});

const opts = { skip: missing ?? false };

void test('real server: sign in, Status matches `warden status --json`', opts, async () => {
  await page.goto(`${w.url}/_warden/`);
  await page.fill('input[name=key]', w.adminKey);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=cert-fingerprint]');
  const cli = await runCli(['status', '--json'], { dataDir: w.dataDir });
  assert.equal(cli.code, 0, cli.stderr);
  const status = JSON.parse(cli.stdout) as { tls: { certificate: { fingerprint256: string; notAfter: string } } };
  assert.equal(await page.textContent('[data-testid=cert-fingerprint]'), status.tls.certificate.fingerprint256);
  assert.equal(await page.getAttribute('[data-testid=cert-expiry]', 'datetime'), status.tls.certificate.notAfter);
  await page.waitForSelector('[data-testid=upstream-reachable] .badge-ok');
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(SHOTS, 'e2e-status.png'), fullPage: true });
});

void test('real server: a key created in the UI works on the proxy; revoked in the UI it is refused', opts, async () => {
  await page.click('nav >> text="Keys"');
  await page.click('[data-testid=new-key]');
  await page.fill('[data-testid=key-form] input[name=name]', 'e2e-browser');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector('[data-testid=secret-value]');
  const key = (await page.textContent('[data-testid=secret-value]')) ?? '';
  const id = (await page.getAttribute('tr[data-key-name="e2e-browser"]', 'data-key-id')) ?? '';
  assert.ok(await eventually(async () => (await proxyStatus(key)) === 200), 'the proxy accepts the new key');
  await page.screenshot({ path: join(SHOTS, 'e2e-keys.png'), fullPage: true });

  await page.click('[data-testid=secret-once] >> text=I have copied it');
  await page.click(`tr[data-key-id="${id}"] >> text=Revoke`);
  await page.click('[data-testid=confirm]');
  await page.waitForSelector(`tr[data-key-id="${id}"] .badge-bad`);
  // docs/design.md §3: revocation reaches every instance within 1 s.
  const t0 = Date.now();
  assert.ok(await eventually(async () => (await proxyStatus(key)) === 401, 1000), 'the proxy refuses the revoked key within 1 s');
  assert.ok(Date.now() - t0 <= 1100);
});

void test('real server: the CSRF token is required and no CSP violation happened', opts, async () => {
  const status = await page.evaluate(async () => (await fetch('/_warden/api/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"forged"}' })).status);
  assert.equal(status, 403);
  assert.deepEqual(cspViolations, []);
});
