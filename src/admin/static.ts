// Serving the built web UI (dist/web). Every file is read into memory once at start-up: the UI
// is a few hundred kilobytes, and no request can then name a path on disk (no traversal to
// worry about). Vite puts a content hash in every asset name, so assets are cached for a year;
// index.html is never cached so a new build is picked up at once.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
// A namespace import: getAssetKeys is newer than Node 22.13 (a named import would fail to load).
import * as sea from 'node:sea';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, WardenError } from '../errors.ts';
import { ADMIN_PREFIX } from './http.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Routes of the single-page app; each answers with index.html. */
export const SPA_ROUTES = ['', 'status', 'keys', 'certs', 'audit', 'settings', 'signin'];

/** dist/web next to this module, whether it runs from src/ (tests) or from dist/src/ (package). */
export function defaultWebRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const top = resolve(here, '..', '..');
  return basename(top) === 'dist' ? join(top, 'web') : join(top, 'dist', 'web');
}

interface StaticFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

function loadFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const rel = relative(root, full).split(sep).join('/');
        files.set(rel, {
          body: readFileSync(full),
          type: TYPES[extname(name)] ?? 'application/octet-stream',
          immutable: rel.startsWith('assets/'),
        });
      }
    }
  };
  if (existsSync(root)) walk(root);
  return files;
}

/** Asset keys of the web UI in the single executable (scripts/build-sea.ts names them so). */
export const SEA_WEB_PREFIX = 'web/';

/** The single executable carries the UI as SEA assets instead of files beside it. */
function loadSeaFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const key of sea.getAssetKeys()) {
    if (!key.startsWith(SEA_WEB_PREFIX)) continue;
    const rel = key.slice(SEA_WEB_PREFIX.length);
    files.set(rel, { body: Buffer.from(sea.getAsset(key)), type: TYPES[extname(rel)] ?? 'application/octet-stream', immutable: rel.startsWith('assets/') });
  }
  return files;
}

const NOT_BUILT = '<!doctype html><title>Warden</title><p>The web UI is not built. Run <code>npm run build</code>.</p>';

export function registerStatic(app: FastifyInstance, webRoot?: string): void {
  const files = webRoot === undefined && sea.isSea() ? loadSeaFiles() : loadFiles(webRoot ?? defaultWebRoot());
  const index = files.get('index.html');

  const sendIndex = (reply: FastifyReply): FastifyReply => {
    if (!index) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    return reply.type(index.type).send(index.body);
  };

  app.get(ADMIN_PREFIX, async (_req, reply) => reply.redirect(`${ADMIN_PREFIX}/`, 308));
  for (const route of SPA_ROUTES) app.get(`${ADMIN_PREFIX}/${route}`, async (_req, reply) => sendIndex(reply));

  app.get<{ Params: { '*': string } }>(`${ADMIN_PREFIX}/*`, async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const rel = req.params['*'];
    if (rel.startsWith('api/')) {
      throw new WardenError(ErrorCode.ROUTE_NOT_FOUND, 'no such admin API route');
    }
    const f = rel === 'index.html' ? undefined : files.get(rel);
    if (!f) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    if (f.immutable) reply.header('cache-control', 'public, max-age=31536000, immutable');
    return reply.type(f.type).send(f.body);
  });
}
