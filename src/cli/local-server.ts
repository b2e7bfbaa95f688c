// Talking to the running server from a CLI on the same machine: it leaves its address in
// <data>/run/server.json and a random admin token in <data>/run/admin-token (mode 0600, so
// only the data dir's owner can use it). Used by `warden status` and `warden reload`.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { http } from '../node-http.ts';
import { rootCertificates } from 'node:tls';
import { caPaths } from '../tls/local-ca.ts';
import { tlsDir } from '../config/paths.ts';

export function adminTokenFile(dataDir: string): string {
  return join(dataDir, 'run', 'admin-token');
}

interface RunInfo {
  pid: number;
  url: string;
  port: number;
}

function readRunInfo(dataDir: string): RunInfo | null {
  const f = join(dataDir, 'run', 'server.json');
  if (!existsSync(f)) return null;
  try {
    const info = JSON.parse(readFileSync(f, 'utf8')) as RunInfo;
    process.kill(info.pid, 0); // throws when no such process
    return info;
  } catch {
    return null;
  }
}

/** What asking the running server came to: keep "not running" apart from "running but silent". */
export type ServerAnswer =
  | { state: 'answered'; body: unknown }
  | { state: 'not-running' }
  | { state: 'no-answer'; pid: number; detail: string };

/** How long a local command waits for the server before it says so. */
export const ANSWER_TIMEOUT_MS = 3000;

/** GET a path of the running server's admin API; null when no server answers. */
export async function askRunningServer(dataDir: string, path: string, method = 'GET'): Promise<unknown> {
  const a = await queryRunningServer(dataDir, path, method);
  return a.state === 'answered' ? a.body : null;
}

/** Like askRunningServer, but says why there is no answer. */
export async function queryRunningServer(dataDir: string, path: string, method = 'GET'): Promise<ServerAnswer> {
  const info = readRunInfo(dataDir);
  const tokenFile = adminTokenFile(dataDir);
  if (!info || !existsSync(tokenFile)) return { state: 'not-running' };
  const token = readFileSync(tokenFile, 'utf8').trim();
  const u = new URL(info.url);
  const host = u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '');
  const ca = existsSync(caPaths(tlsDir(dataDir)).certPath) ? [...rootCertificates, readFileSync(caPaths(tlsDir(dataDir)).certPath, 'utf8')] : undefined;
  const silent = (detail: string): ServerAnswer => ({ state: 'no-answer', pid: info.pid, detail });
  return new Promise((resolve) => {
    const opts = {
      host,
      port: info.port,
      path,
      method,
      headers: { authorization: `Bearer ${token}` },
      ca,
      // Loopback to our own process: the chain is checked, the name may be any of the cert's.
      checkServerIdentity: () => undefined,
    };
    const req = (u.protocol === 'https:' ? request : http.request)(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        if (res.statusCode !== 200) return resolve(silent(`it answered HTTP ${res.statusCode}`));
        try {
          resolve({ state: 'answered', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch {
          resolve(silent('its answer was not JSON'));
        }
      });
    });
    // One deadline for the whole exchange (connect, TLS, answer), not an idle timer per socket.
    const timer = setTimeout(() => {
      resolve(silent(`no answer in ${ANSWER_TIMEOUT_MS / 1000} s`));
      req.destroy();
    }, ANSWER_TIMEOUT_MS);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(silent(err.code ?? err.message));
    });
    req.end();
  });
}
