// Browser sessions for the admin UI. The browser holds only a random 256-bit session id in an
// HttpOnly cookie, never the admin key. The server keeps sessions in memory under the SHA-256 of
// that id, so a heap dump or a debug log of the map does not hand out live cookies.
// Sessions end after 30 idle minutes or 12 hours in all (OWASP session management cheat sheet),
// on sign-out, and whenever the secret they were opened with stops being a valid admin credential:
// `sessionEndReason` is the one rule for that (revoked, deleted, expired, rotated away, grace over,
// admin scope removed), and the admin API applies it to the store's current record on every
// cookie request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { keyState, type KeyRecord } from '../store/types.ts';

export const SESSION_COOKIE = 'warden_session';
export const SESSION_IDLE_MS = 30 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;
/** Plenty for a handful of operators; stops a flood of sign-ins from growing the heap. */
const MAX_SESSIONS = 1000;

export interface Session {
  keyId: string;
  keyName: string;
  /** SHA-256 (hex) of the key the session was opened with: a rotation retires that secret. */
  secretHash: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionOptions {
  idleMs?: number;
  absoluteMs?: number;
  now?: () => number;
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly now: () => number;

  constructor(opts: SessionOptions = {}) {
    this.idleMs = opts.idleMs ?? SESSION_IDLE_MS;
    this.absoluteMs = opts.absoluteMs ?? SESSION_ABSOLUTE_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Starts a session; returns the raw id for the cookie (never stored) and the session. */
  create(keyId: string, keyName: string, secretHash: string): { id: string; session: Session } {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) {
      // Drop the oldest: a valid admin signing in must always succeed.
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    const session: Session = { keyId, keyName, secretHash, csrfToken: randomBytes(32).toString('base64url'), createdAt: t, lastSeenAt: t };
    this.sessions.set(hashId(id), session);
    return { id, session };
  }

  /** The live session for a cookie value, with its idle timer reset; null when unknown or expired. */
  get(id: string): Session | null {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const h = hashId(id);
    const s = this.sessions.get(h);
    if (!s) return null;
    const t = this.now();
    if (t - s.lastSeenAt > this.idleMs || t - s.createdAt > this.absoluteMs) {
      this.sessions.delete(h);
      return null;
    }
    s.lastSeenAt = t;
    return s;
  }

  /** When the session ends if nothing else happens (for the UI's countdown). */
  expiresAt(s: Session): Date {
    return new Date(Math.min(s.lastSeenAt + this.idleMs, s.createdAt + this.absoluteMs));
  }

  delete(id: string): void {
    this.sessions.delete(hashId(id));
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [h, s] of this.sessions) {
      if (t - s.lastSeenAt > this.idleMs || t - s.createdAt > this.absoluteMs) this.sessions.delete(h);
    }
  }
}

/**
 * Why a session may no longer be used, given its key's current record (null: the key was
 * deleted), or null while it may. The single rule for every way a secret stops being valid.
 */
export function sessionEndReason(session: Session, key: KeyRecord | null, now: Date = new Date()): string | null {
  if (!key) return 'its key was deleted';
  const state = keyState(key, now);
  if (state !== 'active') return `its key was ${state}`;
  if (!key.scopes.includes('admin')) return 'its key lost the admin scope';
  if (sameHash(session.secretHash, key.secretHash)) return null;
  const inGrace = key.previousSecretHash !== null && key.previousExpiresAt !== null && key.previousExpiresAt.getTime() > now.getTime();
  if (inGrace && sameHash(session.secretHash, key.previousSecretHash!)) return null;
  return 'its key was rotated';
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Constant-time check of the X-CSRF-Token header against the session's token. */
export function csrfMatches(session: Session, header: string | undefined): boolean {
  if (!header) return false;
  const a = Buffer.from(header);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}
