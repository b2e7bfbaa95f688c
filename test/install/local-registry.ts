// A stand-in for the npm registry's tarball URLs on 127.0.0.1, run as its own process (the
// installer tests block on spawnSync, which would starve an in-process server). It serves the
// files of one directory by name; installer tests never reach the internet.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const root = process.argv[1];
http.createServer((req, res) => {
  const name = path.basename(decodeURIComponent(req.url.split('?')[0]));
  const file = path.join(root, name);
  if (!fs.existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

export interface LocalRegistry {
  url: string;
  close(): void;
}

export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (c) => reject(new Error(`registry stand-in exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, close: () => child.kill() };
}

/** The npm cache's copy of a tarball, found by its SHA-512 (hex): `npm ci` of this project put
 *  the pinned Node build there (the "node" package's install fetches node-<platform>). */
export function cachedTarball(sha512Hex: string): string {
  const cache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
  const file = join(cache, '_cacache', 'content-v2', 'sha512', sha512Hex.slice(0, 2), sha512Hex.slice(2, 4), sha512Hex.slice(4));
  if (!existsSync(file)) throw new Error(`the pinned Node tarball is not in the npm cache (${file}); run \`npm ci\` in this repository first`);
  return file;
}
