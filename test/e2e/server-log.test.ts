// Issue 18 item 12: the server log has one format. Off a terminal every line is a JSON record
// (test/e2e/cli.test.ts "initialises an empty data dir…" checks that); on a terminal the same
// records are readable lines, with the first start's admin key and snippets as plain lines.
// `script` (util-linux) gives `warden serve` a real pseudo-terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, removeDir, tempDir } from '../helpers/warden.ts';

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

test('on a terminal, serve writes readable lines: no JSON, the key on its own line, "listening on URL"', async () => {
  const d = tempDir();
  const cmd = [process.execPath, CLI, '--data-dir', d, 'serve', '--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'].map(shellQuote).join(' ');
  const proc = spawn('script', ['-qfc', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' } });
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening on" line:\n${out}`)), 30_000);
      proc.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (/listening on https:\/\/127\.0\.0\.1:\d+/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`script exited with ${code}:\n${out}`)));
    });
  } finally {
    if (proc.pid && proc.exitCode === null) process.kill(-proc.pid, 'SIGTERM');
    removeDir(d);
  }
  const lines = out.replace(/\r/g, '').split('\n').filter(Boolean);
  assert.deepEqual(lines.filter((l) => l.trimStart().startsWith('{')), [], 'no JSON record on a terminal');
  assert.ok(lines.some((l) => /^\s+owk_[A-Za-z0-9_]+$/.test(l)), `the first admin key alone on its line:\n${out}`);
  assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO +listening on https:\/\/127\.0\.0\.1:\d+/.test(l)), out);
  assert.ok(lines.some((l) => /^ {2}curl --cacert /.test(l)), 'the snippets read as commands');
});
