// What every admin route file receives: the server's dependencies and the plugin's own state,
// built once when the plugin starts.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminDeps } from './deps.ts';
import type { SessionStore } from './sessions.ts';
import type { AttemptLimiter } from './rate-limit.ts';

export interface AdminContext {
  deps: AdminDeps;
  sessions: SessionStore;
  /** Sign-in attempts per client address. */
  signInLimiter: AttemptLimiter;
  /** preHandler for every route that needs an admin (Bearer or session + CSRF). */
  requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Settings changed through the API that wait for a restart (shown until the process restarts). */
  pendingRestart: Set<string>;
}
