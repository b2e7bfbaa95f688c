// The admin web UI in a real headless Chromium against a real HTTPS listener, real SQLite store
// and the real key service. Screenshots of every page go to test-output/ui/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHarness, type Harness } from '../admin/helpers.ts';
import { deepMerge, readConfigFile, validateConfig } from '../../src/config/load.ts';
import { SHOTS, browserMissing, ensureWebBuilt, launch } from './browser.ts';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { makeOllamaKey } from '../security/ollama-cli-signer.ts';
import { loadLocalCa } from '../../src/tls/local-ca.ts';
import { tlsDir } from '../../src/config/paths.ts';

const missing = browserMissing();
let h: Harness;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let clock = Date.now();
const cspViolations: string[] = [];
const pageErrors: string[] = [];

async function shot(name: string, width = 1280): Promise<void> {
  await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
  await page.evaluate(() => scrollTo(0, 0));
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  if (width !== 1280) await page.setViewportSize({ width: 1280, height: 900 });
}

async function proxyStatus(key: string): Promise<number> {
  const res = await h.fetch('/api/tags', { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  return res.status;
}

async function nav(title: string): Promise<void> {
  if (await page.locator('.menu-btn').isVisible()) await page.click('.menu-btn');
  await page.click(`nav >> text="${title}"`);
  await page.waitForSelector(`h1:has-text("${title}")`);
}

before(async () => {
  if (missing) return;
  const webRoot = ensureWebBuilt();
  h = await startHarness({ webRoot, now: () => clock });
  browser = await launch();
  ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await ctx.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  await h?.close();
});

const opts = { skip: missing ?? false };

void test('a non-admin key cannot sign in; the admin key can', opts, async () => {
  await page.goto(`${h.origin}/_warden/`);
  await page.fill('input[name=key]', h.userKey);
  await page.click('button[type=submit]');
  await page.waitForSelector('.banner-error');
  assert.match(await page.textContent('.banner-error') ?? '', /does not have the admin scope/);
  assert.equal(await page.inputValue('input[name=key]'), '', 'the key is cleared from the form');
  await shot('01-signin-refused');
  await shot('01-signin-phone', 390);

  await page.fill('input[name=key]', h.adminKey);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:has-text("Status")');
  const cookies = await ctx.cookies();
  const session = cookies.find((c) => c.name === 'warden_session');
  assert.ok(session?.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(session));
  // The key is nowhere in the browser: not in storage, not in the page.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.documentElement.outerHTML);
  assert.ok(!stored.includes(h.adminKey));
});

void test('the Status page shows the certificate fingerprint and expiry of `warden status --json`', opts, async () => {
  await page.waitForSelector('[data-testid=cert-fingerprint]');
  const res = await h.fetch('/_warden/api/status', { headers: { authorization: `Bearer ${h.adminKey}` } });
  const status = (await res.json()) as { tls: { certificate: { fingerprint256: string; notAfter: string } } };
  assert.equal(await page.textContent('[data-testid=cert-fingerprint]'), status.tls.certificate.fingerprint256);
  assert.equal(await page.getAttribute('[data-testid=cert-expiry]', 'datetime'), status.tls.certificate.notAfter);
  assert.equal(await page.locator('[data-testid=rate-chart] rect').count(), 60);
  await shot('02-status');
  await shot('02-status-phone', 390);
});

void test('a certificate expiring within 30 days is shown in the warning colour', opts, async () => {
  const cert = (h.statusObject.tls as { certificate: { daysLeft: number } }).certificate;
  const saved = cert.daysLeft;
  cert.daysLeft = 12;
  try {
    await page.reload();
    await page.waitForSelector('[data-testid=cert-expiry].text-warn');
    assert.equal(await page.locator('.card-warn').count(), 1);
    await shot('02-status-cert-expiring');
  } finally {
    cert.daysLeft = saved;
  }
  await page.reload();
  await page.waitForSelector('[data-testid=cert-expiry]');
  assert.equal(await page.locator('[data-testid=cert-expiry].text-warn').count(), 0);
});

let uiKey = '';
let uiKeyId = '';

void test('create a key: the secret is shown once, works against the proxy, and is gone after reload', opts, async () => {
  await nav('Keys');
  await page.click('[data-testid=new-key]');
  await page.fill('[data-testid=key-form] input[name=name]', 'browser-key');
  await page.fill('[data-testid=key-form] input[name=models]', 'llama3.*');
  await page.fill('[data-testid=key-form] input[name=rpm]', '120');
  await shot('03-keys-create-form');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector('[data-testid=secret-value]');
  uiKey = (await page.textContent('[data-testid=secret-value]')) ?? '';
  assert.match(uiKey, /^owk_/);
  uiKeyId = (await page.getAttribute('tr[data-key-name="browser-key"]', 'data-key-id')) ?? '';
  assert.match(uiKeyId, /^key_/);
  await shot('03-keys-secret-once');
  assert.equal(await proxyStatus(uiKey), 200, 'the new key is accepted by the proxy');

  await page.reload();
  await page.waitForSelector('[data-testid=keys-table]');
  assert.equal(await page.locator('[data-testid=secret-value]').count(), 0);
  assert.ok(!(await page.content()).includes(uiKey), 'the secret is gone after reload');
  await shot('04-keys');
  await shot('04-keys-phone', 390);
});

void test('an invalid form value shows the CLI\'s field-named message under the field', opts, async () => {
  await page.click('[data-testid=new-key]');
  await page.fill('[data-testid=key-form] input[name=name]', 'bad-limits');
  await page.fill('[data-testid=key-form] input[name=rpm]', '-3');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector('.field.has-error .field-error');
  const shown = await page.textContent('.field.has-error .field-error');
  // The key service's words, which `warden keys create --rpm -3` prints too.
  await assert.rejects(h.keyService.create({ name: 'bad-limits', rpm: -3 }, 'cli'), (err: Error) => err.message === shown);
  assert.ok(!(await page.content()).match(/\bat .*\.ts:\d+/), 'no stack trace');
  await shot('05-keys-field-error');
  await page.click('[data-testid=key-form] >> text=Cancel');
});

void test('edit a key\'s models and limits', opts, async () => {
  await page.click(`tr[data-key-id="${uiKeyId}"] >> text=Edit`);
  await page.fill('[data-testid=key-form] input[name=models]', 'llama3.*, mistral:*');
  await page.fill('[data-testid=key-form] input[name=rpm]', '');
  await page.fill('[data-testid=key-form] input[name=concurrency]', '2');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector(`tr[data-key-id="${uiKeyId}"] >> text=2 conc.`);
  const rec = await h.store.keys.get(uiKeyId);
  assert.deepEqual(rec?.models, ['llama3.*', 'mistral:*']);
  assert.equal(rec?.rpm, null);
  assert.equal(rec?.concurrency, 2);
  assert.equal(await page.locator('[data-testid=secret-value]').count(), 0, 'editing never shows a secret');
});

void test('edit a key\'s caps: set, shown in the list, cleared one by one; a bad one is named under its field', opts, async () => {
  await page.click(`tr[data-key-id="${uiKeyId}"] >> text=Edit`);
  assert.equal(await page.getAttribute('[data-testid=key-form] input[name=maxCtx]', 'placeholder'), 'no cap');
  await page.fill('[data-testid=key-form] input[name=maxCtx]', '4096');
  await page.fill('[data-testid=key-form] input[name=maxKeepAlive]', '30m');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector(`tr[data-key-id="${uiKeyId}"] >> text=ctx ≤ 4096`);
  let rec = await h.store.keys.get(uiKeyId);
  assert.deepEqual([rec?.capNumCtx, rec?.capNumPredict, rec?.capKeepAlive], [4096, null, 1800]);

  await page.click(`tr[data-key-id="${uiKeyId}"] >> text=Edit`);
  assert.equal(await page.inputValue('[data-testid=key-form] input[name=maxKeepAlive]'), '30m', 'seconds shown as a duration');
  await page.fill('[data-testid=key-form] input[name=maxPredict]', '0');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector('.field.has-error .field-error');
  const shown = await page.textContent('.field.has-error .field-error');
  await assert.rejects(h.keyService.create({ name: 'bad-caps', capNumPredict: 0 }, 'cli'), (err: Error) => err.message === shown);
  await page.fill('[data-testid=key-form] input[name=maxPredict]', '');
  await page.fill('[data-testid=key-form] input[name=maxCtx]', '');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector(`tr[data-key-id="${uiKeyId}"] >> text=ctx ≤ 4096`, { state: 'detached' });
  assert.equal(await page.locator(`tr[data-key-id="${uiKeyId}"] >> text=keep-alive ≤ 30m`).count(), 1);
  rec = await h.store.keys.get(uiKeyId);
  assert.deepEqual([rec?.capNumCtx, rec?.capNumPredict, rec?.capKeepAlive], [null, null, 1800], 'only the cleared cap is gone');
});

void test('rotate with no grace: the old secret stops at once, the new one works', opts, async () => {
  await page.click(`tr[data-key-id="${uiKeyId}"] >> text=Rotate`);
  await page.waitForSelector('[data-testid=rotate-form]');
  await shot('06-keys-rotate');
  await page.click('[data-testid=rotate-form] button[type=submit]');
  await page.waitForSelector('[data-testid=secret-value]');
  const rotated = (await page.textContent('[data-testid=secret-value]')) ?? '';
  assert.notEqual(rotated, uiKey);
  assert.equal(await proxyStatus(uiKey), 401, 'old secret refused');
  assert.equal(await proxyStatus(rotated), 200, 'new secret accepted');
  uiKey = rotated;
  await page.click('[data-testid=secret-once] >> text=I have copied it');
});

void test('revoke: the proxy refuses the key on the next request', opts, async () => {
  await page.click(`tr[data-key-id="${uiKeyId}"] >> text=Revoke`);
  await page.click('[data-testid=confirm]');
  await page.waitForSelector(`tr[data-key-id="${uiKeyId}"] .badge-bad`);
  assert.equal(await proxyStatus(uiKey), 401);
  await shot('07-keys-revoked');
});

void test('CSRF: a state-changing call from the page without the token is refused', opts, async () => {
  const result = await page.evaluate(async () => {
    const r = await fetch('/_warden/api/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'csrf-forged' }) });
    return { status: r.status, body: await r.text() };
  });
  assert.equal(result.status, 403, result.body);
  assert.equal((await h.store.keys.list()).filter((k) => k.name === 'csrf-forged').length, 0);
});

void test('an expired session asks for the key again and keeps what was typed', opts, async () => {
  await page.click('[data-testid=new-key]');
  await page.fill('[data-testid=key-form] input[name=name]', 'typed-before-expiry');
  await page.fill('[data-testid=key-form] input[name=models]', 'qwen2.5:*');
  clock += 31 * 60_000; // idle for 31 minutes
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector('.modal-backdrop [data-testid=signin-form]');
  await shot('08-session-expired');
  await page.fill('.modal-backdrop input[name=key]', h.adminKey);
  await page.click('.modal-backdrop button[type=submit]');
  await page.waitForSelector('[data-testid=secret-value]');
  const k = (await h.store.keys.list()).find((x) => x.name === 'typed-before-expiry');
  assert.deepEqual(k?.models, ['qwen2.5:*'], 'the form was submitted with what was typed');
  await page.click('[data-testid=secret-once] >> text=I have copied it');
});

void test('Certificates: issue and download the bundle, then revoke', opts, async () => {
  await nav('Certificates');
  await page.fill('[data-testid=cert-form] input[name=name]', 'phone');
  await page.click('[data-testid=cert-form] button[type=submit]');
  await page.waitForSelector('[data-testid=cert-issued]');
  await shot('09-certs-issued');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('text=Download phone.p12')]);
  assert.equal(dl.suggestedFilename(), 'phone.p12');
  const path = await dl.path();
  assert.ok(path);
  await page.click('[data-testid=cert-issued] >> text=Done');
  await page.click('[data-testid=certs-table] >> text=Revoke');
  await page.click('[data-testid=confirm]');
  await page.waitForSelector('[data-testid=certs-table] .badge-bad');
  assert.ok((await h.store.clientCerts.find('phone'))?.revokedAt);
  await shot('09-certs');
});

void test('Certificates: the CA is offered for download with its SHA-256 fingerprint', opts, async () => {
  const ca = loadLocalCa(tlsDir(h.dir));
  assert.ok(ca, 'the harness data dir has a local CA (client certificates were issued from it)');
  await page.waitForSelector('[data-testid=ca-card]');
  assert.equal((await page.textContent('[data-testid=ca-fingerprint]'))?.trim(), ca.fingerprint256);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=ca-download]')]);
  assert.equal(dl.suggestedFilename(), 'warden-ca.pem');
  const pem = readFileSync((await dl.path())!, 'utf8');
  assert.equal(new X509Certificate(pem).fingerprint256, ca.fingerprint256, 'the download is the CA itself');
  assert.doesNotMatch(pem, /PRIVATE KEY/);
  await shot('09-certs-ca');
});

void test('Escape closes a dialog without doing its action', opts, async () => {
  await h.deps.certs.issue('tablet', 30, 'test');
  await page.reload();
  await page.waitForSelector('[data-testid=certs-table] >> text=tablet');
  await page.click('[data-testid=certs-table] tr:has-text("tablet") >> text=Revoke');
  await page.waitForSelector('[role=dialog]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  assert.equal((await h.store.clientCerts.find('tablet'))?.revokedAt, null);
});

void test('the key form registers an ollama public key and binds a client certificate', opts, async () => {
  const pub = readFileSync(makeOllamaKey(h.dir, 'me@laptop') + '.pub', 'utf8').trim();
  const tablet = await h.store.clientCerts.find('tablet');
  assert.ok(tablet);
  await nav('Keys');
  await page.click('[data-testid=new-key]');
  await page.fill('[data-testid=key-form] input[name=name]', 'ollama-cli');
  await page.fill('[data-testid=key-form] textarea[name=pubkeys]', pub);
  const fp = tablet.fingerprint;
  await page.selectOption('[data-testid=key-form] select[name=cert]', fp);
  await shot('06-keys-pubkey-cert');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector('[data-testid=secret-once]');
  await page.click('[data-testid=secret-once] >> text=I have copied it');
  const rec = (await h.store.keys.list()).find((k) => k.name === 'ollama-cli');
  assert.deepEqual(rec?.ollamaPubkeys, [pub.split(' ').slice(0, 2).join(' ')]);
  assert.equal(rec?.certFingerprint, fp);
  // Editing shows both back, and clearing them unbinds.
  await page.click(`tr[data-key-id="${rec.id}"] >> text=Edit`);
  assert.equal(await page.inputValue('[data-testid=key-form] select[name=cert]'), fp);
  assert.match(await page.inputValue('[data-testid=key-form] textarea[name=pubkeys]'), /^ssh-ed25519 AAAA/);
  await page.selectOption('[data-testid=key-form] select[name=cert]', '');
  await page.fill('[data-testid=key-form] textarea[name=pubkeys]', '');
  await page.click('[data-testid=key-form] button[type=submit]');
  await page.waitForSelector('[data-testid=key-form]', { state: 'detached' });
  const after = await h.store.keys.get(rec.id);
  assert.deepEqual([after?.certFingerprint, after?.ollamaPubkeys], [null, []]);
});

void test('the key form names every mistake while typing, before any submit', opts, async () => {
  await page.click('[data-testid=new-key]');
  await page.fill('[data-testid=key-form] input[name=name]', '-bad name');
  await page.fill('[data-testid=key-form] input[name=rpm]', '-3');
  await page.fill('[data-testid=key-form] input[name=maxCtx]', '0');
  await page.fill('[data-testid=key-form] input[name=expires]', 'soon');
  await page.fill('[data-testid=key-form] textarea[name=pubkeys]', 'ssh-rsa AAAAB3Nza');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=key-form] .field-error').length === 5);
  const shown = await page.locator('[data-testid=key-form] .field-error').allTextContents();
  // The same words as the server (and `warden keys create`) for each field.
  const serverSays = async (input: Parameters<typeof h.keyService.create>[0]): Promise<string> => {
    try {
      await h.keyService.create(input, 'cli');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('accepted');
  };
  assert.ok(shown.includes(await serverSays({ name: '-bad name' })), shown.join('\n'));
  assert.ok(shown.includes(await serverSays({ name: 'x', rpm: -3 })), shown.join('\n'));
  assert.ok(shown.includes(await serverSays({ name: 'x', capNumCtx: 0 })), shown.join('\n'));
  assert.ok(shown.some((t) => t.startsWith('expires: ')) && shown.some((t) => t.startsWith('ollama-pubkey: ')), shown.join('\n'));
  await shot('05-keys-live-errors');
  const before = (await h.store.keys.list()).length;
  await page.click('[data-testid=key-form] button[type=submit]');
  assert.equal((await h.store.keys.list()).length, before, 'nothing is sent while the form is wrong');
  await page.fill('[data-testid=key-form] input[name=rpm]', '');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=key-form] .field-error').length === 4);
  await page.click('[data-testid=key-form] >> text=Cancel');
});

void test('Audit: the table filters by status class', opts, async () => {
  await nav('Audit log');
  await page.waitForSelector('[data-testid=audit-table]');
  await shot('10-audit');
  await page.selectOption('[data-testid=audit-filters] select[name=status]', '4');
  await page.click('[data-testid=audit-filters] button[type=submit]');
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('[data-testid=audit-table] tbody td:nth-child(6)')].map((td) => td.textContent ?? '');
    return cells.length > 0 && cells.every((t) => t.startsWith('4'));
  });
  // At 1280 px the table fits: no sideways scrolling, nothing cut off.
  const fit = await page.evaluate(() => {
    const wrap = document.querySelector('[data-testid=audit-table]')!.parentElement!;
    return { scroll: wrap.scrollWidth, client: wrap.clientWidth, page: document.documentElement.scrollWidth };
  });
  assert.ok(fit.scroll <= fit.client && fit.page <= 1280, JSON.stringify(fit));
  await shot('10-audit-phone', 390);
});

void test('Settings: a bad value shows the config file\'s message; a good one is saved with "restart needed"', opts, async () => {
  await nav('Settings');
  await page.fill('input[name=listen]', 'not-an-address');
  await page.click('[data-testid=settings-save]');
  await page.waitForSelector('.field.has-error .field-error');
  let fileMessage = '';
  try {
    validateConfig(deepMerge(readConfigFile(h.configFile), { listen: 'not-an-address' }));
  } catch (err) {
    fileMessage = (err as Error).message;
  }
  assert.match(fileMessage, /listen: got "not-an-address"/);
  assert.equal(await page.textContent('.field.has-error .field-error'), fileMessage, 'the same words as a bad warden.yaml at start-up');
  await shot('11-settings-error');
  await page.click('text=Discard changes');
  await page.selectOption('select[name="tls.minVersion"]', '1.2');
  await page.click('[data-testid=settings-save]');
  await page.waitForSelector('.banner-warn');
  assert.match((await page.textContent('.banner-warn')) ?? '', /tls\.minVersion/);
  await shot('11-settings');
  // Changed back to what the server runs with: nothing waits for a restart any more.
  await page.selectOption('select[name="tls.minVersion"]', '1.3');
  await page.click('[data-testid=settings-save]');
  await page.waitForSelector('.banner-warn', { state: 'detached' });
  assert.equal(await page.locator('.tag-restart').count(), 0);
  await page.selectOption('select[name="tls.minVersion"]', '1.2');
  await page.click('[data-testid=settings-save]');
  await page.waitForSelector('.banner-warn');
  await shot('11-settings-phone', 390);
});

void test('sign-out returns to sign-in; no CSP violation or script error happened on any page', opts, async () => {
  await page.click('[data-testid=signout]');
  await page.waitForSelector('[data-testid=signin-form]');
  assert.equal((await h.fetch('/_warden/api/keys')).status, 401);
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});
