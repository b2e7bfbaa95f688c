// Session-ticket key rotation. Node gives each listener one random ticket key for its whole
// life; a key read from memory months later would open every ticket made with it. A fresh key
// every hour bounds that. Tickets made before a rotation fail to decrypt and those clients do one
// full handshake, so nothing breaks.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:tls';

export const TICKET_KEY_ROTATION_MS = 60 * 60 * 1000;

/** Starts rotating `server`'s ticket keys; returns the function that stops it. */
export function rotateTicketKeys(server: Pick<Server, 'setTicketKeys'>, everyMs: number = TICKET_KEY_ROTATION_MS): () => void {
  const t = setInterval(() => server.setTicketKeys(randomBytes(48)), everyMs);
  t.unref();
  return () => clearInterval(t);
}
