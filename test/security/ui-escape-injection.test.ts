// Escape and bidi injection in the web UI: text a client or an upstream chose (a model name in
// an audit row, Ollama's version string) must render inert in the admin UI, even for a row the
// audit writer did not clean (written by an older version, or straight into a shared store):
// no bidi override reorders the table, no line separator breaks a cell, every control character
// is shown as a visible escape. Real Chromium against the real admin plugin and deps.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { startHarness, type Harness } from '../admin/helpers.ts';
import { browserMissing, ensureWebBuilt, launch } from '../ui/browser.ts';

// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const EVIL_MODEL = 'llama3.2\u202egnp.exe\u2066\u001b[31m\u2028forged\u0085';
const EVIL_VERSION = '0.12.0\u001b]0;owned\u0007\u202e';

const missing = browserMissing();
let h: Harness;
let browser: Browser;
let page: Page;

before(async () => {
  if (missing) return;
  h = await startHarness({ webRoot: ensureWebBuilt() });
  (h.statusObject.upstream as { version: string }).version = EVIL_VERSION;
  await h.store.audit.insert([
    {
      id: randomUUID(), time: new Date(), kind: 'request', keyId: null, keyName: 'mallory', authMethod: 'bearer', clientAddress: '127.0.0.1', tlsVersion: 'TLSv1.3',
      clientCertSubject: null, method: 'POST', path: '/api/chat', model: EVIL_MODEL, status: 403, durationMs: 1, bytesIn: 10, bytesOut: 10,
      promptTokens: null, evalTokens: null, reason: `model ${EVIL_MODEL} not in the key's model patterns`, actor: null,
    },
  ]);
  browser = await launch();
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  await page.goto(`${h.origin}/_warden/`);
  await page.fill('input[name=key]', h.adminKey);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:has-text("Status")');
});

after(async () => {
  await browser?.close();
  await h?.close();
});

function assertInert(text: string, what: string): void {
  const m = RAW.exec(text);
  assert.equal(m, null, `${what} renders U+${m ? m[0].codePointAt(0)!.toString(16).padStart(4, '0') : ''} raw: ${JSON.stringify(text)}`);
}

test('the Status page shows an upstream version with escapes inert', { skip: missing ?? false }, async () => {
  await page.waitForFunction(() => document.body.innerText.includes('0.12.0'));
  const text = await page.evaluate(() => document.body.textContent ?? '');
  assertInert(text, 'the Status page');
  assert.ok(text.includes('\\x1b]0;owned'), 'the escape is not shown visibly');
});

test('the Audit page shows a model name with bidi overrides and controls inert', { skip: missing ?? false }, async () => {
  await page.click('nav >> text="Audit log"');
  await page.waitForSelector('[data-testid=audit-table] tbody tr');
  const text = await page.evaluate(() => document.querySelector('[data-testid=audit-table]')?.textContent ?? '');
  assert.ok(text.includes('llama3.2'), text);
  assertInert(text, 'the audit table');
  assert.ok(text.includes('\\u202e'), 'the bidi override is not shown visibly');
});
