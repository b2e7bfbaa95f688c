// Runs every `<!-- test: run -->` shell block of the user docs, as written, against a real
// Warden (the built CLI, `warden serve` on 127.0.0.1) in front of the stand-in Ollama.
//
// The sandbox looks like a fresh user account: HOME is a temp dir, so the docs' default paths
// (~/.local/share/warden/tls/ca.pem, …) are real; `warden` and `node` are on the PATH; the
// blocks of one document run in order in one bash (set -euo pipefail), so a variable set in
// one block (KEY=…) is there in the next. The only rewrite: the documented ports 11443
// (Warden) and 11434 (Ollama) become the ports this run got from the OS.
// Needs bash, curl, jq and openssl (Debian packages of those names).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.ts';
import { startWarden, tempDir, removeDir, CLI, type RunningWarden } from '../helpers/warden.ts';
import { docBlocks, expectPatterns, ROOT, USER_DOCS, type Block } from './blocks.ts';

for (const tool of ['bash', 'curl', 'jq', 'openssl']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    throw new Error(`the docs tests need ${tool}: apt-get install -y ${tool}`);
  }
}

/** Documents whose commands talk to a running Warden; tls.md starts from a fresh machine and
 *  runs `warden init` itself. */
const NEEDS_SERVER: Record<string, boolean> = { 'tls.md': false, 'keys.md': true, 'clients.md': true, 'security.md': true, 'deploy.md': true };

let sandbox = '';
let fake: FakeOllama;

before(async () => {
  sandbox = tempDir('warden-docs-');
  fake = await startFakeOllama({ delayMs: 0 });
  const bin = join(sandbox, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'warden'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
  chmodSync(join(bin, 'warden'), 0o755);
});

after(async () => {
  await fake?.close();
  if (sandbox) removeDir(sandbox);
});

/** A fresh "user account" per document: its own HOME, data dir and work dir. */
interface Account {
  home: string;
  work: string;
  warden: RunningWarden | null;
}

async function account(doc: string): Promise<Account> {
  const home = join(sandbox, doc, 'home');
  const work = join(sandbox, doc, 'work');
  const dataDir = join(home, '.local', 'share', 'warden');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(work, { recursive: true });
  // Node examples import ollama / openai: resolve them from the project's node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  const warden = NEEDS_SERVER[doc] ? await startWarden({ upstream: fake.url, dataDir }) : null;
  return { home, work, warden };
}

interface Step {
  run: Block;
  expect?: Block;
}

function steps(doc: string): Step[] {
  const blocks = docBlocks(doc);
  const out: Step[] = [];
  blocks.forEach((b, i) => {
    if (b.marker.kind !== 'run') return;
    const next = blocks[i + 1];
    out.push({ run: b, ...(next?.marker.kind === 'expect' ? { expect: next } : {}) });
  });
  return out;
}

function withPorts(code: string, acct: Account): string {
  const out = code.replace(/\b11434\b/g, String(fake.port));
  return acct.warden ? out.replace(/\b11443\b/g, String(acct.warden.port)) : out;
}

function script(doc: string, list: Step[], outDir: string, acct: Account): string {
  const parts = [
    'set -euo pipefail',
    `cd ${JSON.stringify(acct.work)}`,
    'BLOCK=""; OUT=""',
    // The trap runs inside the block, whose output goes to $OUT: report on the saved stderr.
    'exec 3>&2',
    `trap 'rc=$?; echo "FAILED: $BLOCK (exit $rc); its output:" >&3; cat "$OUT" >&3; exit $rc' ERR`,
  ];
  list.forEach((s, n) => {
    parts.push(`BLOCK=${JSON.stringify(`docs/${doc}:${s.run.line}`)}; OUT=${JSON.stringify(join(outDir, `${n}.out`))}`);
    parts.push(`{\n${withPorts(s.run.code, acct)}\n} >"$OUT" 2>&1`);
  });
  return parts.join('\n') + '\n';
}

function runBash(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

void describe('docs: every "run" block works as written', () => {
  for (const doc of USER_DOCS) {
    void test(`docs/${doc}`, async () => {
      const list = steps(doc);
      assert.ok(list.length > 0, `docs/${doc} has no runnable block`);
      const acct = await account(doc);
      try {
        const outDir = join(sandbox, doc, 'out');
        mkdirSync(outDir, { recursive: true });
        const file = join(outDir, 'script.sh');
        writeFileSync(file, script(doc, list, outDir, acct));
        const env: NodeJS.ProcessEnv = {};
        for (const [k, v] of Object.entries(process.env)) if (!/^(WARDEN_|XDG_|npm_)/.test(k)) env[k] = v;
        Object.assign(env, { HOME: acct.home, PATH: `${join(sandbox, 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, LANG: 'C.UTF-8' });
        const r = await runBash(file, env);
        assert.equal(r.code, 0, r.stderr || `bash exited ${r.code}`);
        checkExpectations(doc, list, outDir, acct);
      } finally {
        await acct.warden?.stop();
      }
    });
  }
});

function checkExpectations(doc: string, list: Step[], outDir: string, acct: Account): void {
  list.forEach((s, n) => {
    if (!s.expect) return;
    const file = join(outDir, `${n}.out`);
    const out = existsSync(file) ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()) : [];
    for (const re of expectPatterns(withPorts(s.expect.code, acct))) {
      assert.ok(out.some((l) => re.test(l)), `docs/${doc}:${s.expect.line}: no output line matches ${re}; got:\n${out.join('\n')}`);
    }
  });
}
