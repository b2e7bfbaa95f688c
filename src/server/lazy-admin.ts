// The admin app (Fastify, its routes, the UI's static files) is built on the first request under
// /_warden/, not at start-up: most requests to a gateway never touch it, and loading Fastify and
// the admin routes costs ~8 MB of resident memory that a headless deployment never uses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminDeps } from '../admin/deps.ts';
import { internalError, sendError } from '../api-errors.ts';

export interface LazyAdmin {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Closes the admin app if it was ever built. */
  close(): Promise<void>;
}

interface Built {
  route(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

async function build(deps: AdminDeps): Promise<Built> {
  const [{ default: Fastify }, { adminPlugin }] = await Promise.all([import('fastify'), import('../admin/plugin.ts')]);
  const app = Fastify({ logger: false, bodyLimit: 1048576 });
  await adminPlugin(app, deps);
  await app.ready();
  return { route: (req, res) => app.routing(req, res), close: () => app.close() };
}

export function lazyAdmin(deps: AdminDeps, onError: (err: unknown) => void): LazyAdmin {
  let built: Promise<Built> | null = null;
  let closed = false;
  return {
    handle(req, res) {
      // A failed build is not cached: the next request tries again.
      built ??= build(deps).catch((err: unknown) => {
        built = null;
        throw err;
      });
      built.then(
        (app) => (closed ? res.destroy() : app.route(req, res)),
        (err: unknown) => {
          onError(err);
          sendError(res, internalError(err));
        },
      );
    },
    async close() {
      closed = true;
      if (built) await (await built.catch(() => null))?.close();
    },
  };
}
