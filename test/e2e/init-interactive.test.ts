// `warden init` with a terminal asks for each setting (defaults on Enter) and validates the
// answer at the prompt; without one (or with --yes) it takes the defaults.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { CLI, ROOT, tempDir, removeDir, runCli } from '../helpers/warden.ts';

const run = promisify(execFile);
const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

async function initInTerminal(answers: string[]): Promise<{ dataDir: string; screen: string; code: number }> {
  const dataDir = tempDir();
  dirs.push(dataDir);
  try {
    const { stdout } = await run('python3', [join(ROOT, 'test', 'helpers', 'pty-run.py'), JSON.stringify(answers), '--', process.execPath, CLI, '--data-dir', dataDir, 'init'], { timeout: 60_000 });
    return { dataDir, screen: stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; code?: number };
    return { dataDir, screen: e.stdout ?? '', code: e.code ?? -1 };
  }
}

describe('warden init with a terminal', () => {
  it('asks for each setting and writes the answers', async () => {
    // listen (keep), upstream (replace), TLS source (local), extra hostname, mTLS (off), audit (yes)
    const r = await initInTerminal(['\r', '\u0015http://127.0.0.1:11500\r', '\r', 'gpu-box.lan\r', '\r', '\r']);
    assert.equal(r.code, 0, r.screen.slice(-2000));
    assert.match(r.screen, /Listen address/);
    assert.match(r.screen, /TLS certificate/);
    const cfg = parse(readFileSync(join(r.dataDir, 'warden.yaml'), 'utf8')) as { upstream: string; tls: { hostnames: string[] } };
    assert.equal(cfg.upstream, 'http://127.0.0.1:11500');
    assert.deepEqual(cfg.tls.hostnames, ['gpu-box.lan']);
    assert.match(r.screen, /owk_[A-Za-z0-9]+_[A-Za-z0-9]+/);
  });

  it('refuses an invalid answer at the prompt with the field-named message', async () => {
    const r = await initInTerminal(['\u0015nonsense\r', '\u0015127.0.0.1:11443\r', '\r', '\r', '\r', '\r', '\r']);
    assert.match(r.screen, /expected HOST:PORT/);
    const cfg = parse(readFileSync(join(r.dataDir, 'warden.yaml'), 'utf8')) as { listen: string };
    assert.equal(cfg.listen, '127.0.0.1:11443');
  });
});

describe('warden init without a terminal', () => {
  it('takes the defaults and never asks', async () => {
    const d = tempDir();
    dirs.push(d);
    const r = await runCli(['init'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Listen address/);
    const cfg = (parse(readFileSync(join(d, 'warden.yaml'), 'utf8')) ?? {}) as Record<string, unknown>;
    assert.equal(cfg.listen, undefined, 'defaults are not written, so upgrades get new defaults');
  });

  it('never overwrites an existing config, CA or key store on a second run', async () => {
    const d = tempDir();
    dirs.push(d);
    await runCli(['init', '--yes', '--upstream', 'http://127.0.0.1:11501'], { dataDir: d });
    const ca = readFileSync(join(d, 'tls', 'ca.pem'), 'utf8');
    const again = await runCli(['init', '--yes', '--upstream', 'http://127.0.0.1:9999'], { dataDir: d });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Already initialised/);
    assert.doesNotMatch(again.stdout, /owk_/);
    assert.equal(readFileSync(join(d, 'tls', 'ca.pem'), 'utf8'), ca);
    assert.match(readFileSync(join(d, 'warden.yaml'), 'utf8'), /11501/);
  });
});

describe('warden init flags', () => {
  it('writes every answer given as a flag, validated like the config file', async () => {
    const d = tempDir();
    dirs.push(d);
    const r = await runCli(['init', '--yes', '--tls', 'acme', '--acme-domain', 'llm.example.org', '--acme-email', 'ops@example.org', '--client-auth', 'optional', '--no-audit'], { dataDir: d });
    assert.equal(r.code, 0, r.stderr);
    const cfg = parse(readFileSync(join(d, 'warden.yaml'), 'utf8')) as { tls: { mode: string; clientAuth: string; acme: { domains: string[]; email: string } }; audit: { enabled: boolean } };
    assert.equal(cfg.tls.mode, 'acme');
    assert.deepEqual(cfg.tls.acme.domains, ['llm.example.org']);
    assert.equal(cfg.tls.acme.email, 'ops@example.org');
    assert.equal(cfg.tls.clientAuth, 'optional');
    assert.equal(cfg.audit.enabled, false);
    const bad = await runCli(['init', '--yes', '--client-auth', 'maybe'], { dataDir: tempDir() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /tls\.clientAuth/);
  });
});
