// The audit line of one /_warden request (the gateway writes it when the answer is finished).
// It names who made the request, as accepted by `requireAdmin`: the key's id and name and how it
// came in ("session" for the web UI, "bearer" for an admin key, "local" for this machine's CLI
// with the local control token, named "local control").
//
// The web UI's Status page reads three endpoints every 10 s while it is open: audited per
// request that is ~1,000 lines an hour per open tab, burying the lines that matter. Successful
// reads of those polling endpoints by a signed-in browser session are therefore not written one
// by one: the session's sign-in and sign-out are audited, and so is every failure and every
// other request (each change, each read of keys, certificates, settings or the audit log, and
// every call made with a Bearer key or the local control token, such as `warden status`).
import type { IncomingMessage } from 'node:http';
import type { AuditInput } from '../audit/writer.ts';
import { principalOfRaw } from './auth.ts';
import { ADMIN_PREFIX } from './http.ts';

/** What the Status page polls (web/src/pages/status.tsx). */
const POLLED = new Set(['status', 'connections', 'request-rate'].map((p) => `${ADMIN_PREFIX}/api/${p}`));

/** The fields to add to the request's audit line, or null when the line is not written. */
export function adminRequestAudit(req: IncomingMessage, path: string, status: number): Partial<AuditInput> | null {
  const p = principalOfRaw(req);
  if (!p) return { authMethod: null };
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (p.via === 'session' && read && status < 400 && POLLED.has(path)) return null;
  return { keyId: p.keyId, keyName: p.keyName, authMethod: p.via };
}
