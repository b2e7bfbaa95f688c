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

/** GET a path of the running server's admin API; null when no server answers. */
export async function askRunningServer(dataDir: string, path: string, method = 'GET'): Promise<unknown> {
  const info = readRunInfo(dataDir);
  const tokenFile = adminTokenFile(dataDir);
  if (!info || !existsSync(tokenFile)) return null;
  const token = readFileSync(tokenFile, 'utf8').trim();
  const u = new URL(info.url);
  const host = u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '');
  const ca = existsSync(caPaths(tlsDir(dataDir)).certPath) ? [...rootCertificates, readFileSync(caPaths(tlsDir(dataDir)).certPath, 'utf8')] : undefined;
  return new Promise((resolve) => {
    const opts = {
      host,
      port: info.port,
      path,
      method,
      headers: { authorization: `Bearer ${token}` },
      timeout: 3000,
      ca,
      // Loopback to our own process: the chain is checked, the name may be any of the cert's.
      checkServerIdentity: () => undefined,
    };
    const req = (u.protocol === 'https:' ? request : http.request)(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(null);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(null);
        }
      });
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
