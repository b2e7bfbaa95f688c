// Whether the store answers. Fed by every query's outcome (PostgreSQL) so the server can log one
// line when the store goes away and one when it is back, never one per failed request, and
// show since when it has been unreachable (health endpoint, `warden status`).
import { isConnectionError } from './postgres/guarded-pool.ts';

export type HealthListener = (reachable: boolean, info: { since: Date; downForMs: number; error: string | null }) => void;

export class StoreHealth {
  private up = true;
  private changedAt = new Date();
  private lastError: string | null = null;
  private lastAnswer = Date.now();
  private readonly listeners: HealthListener[] = [];

  get reachable(): boolean {
    return this.up;
  }

  /** When the current state began (unreachable: since the store last answered). */
  get since(): Date {
    return this.changedAt;
  }

  get error(): string | null {
    return this.lastError;
  }

  onChange(l: HealthListener): void {
    this.listeners.push(l);
  }

  /** One query's outcome: null for an answer (including an error the server answered with). */
  report(err: unknown): void {
    const down = err !== null && err !== undefined && isConnectionError(err);
    if (down) this.lastError = err instanceof Error ? err.message : String(err);
    else this.lastAnswer = Date.now();
    if (down === !this.up) return;
    const now = new Date();
    const downForMs = now.getTime() - this.changedAt.getTime();
    this.up = !down;
    // A cut path is noticed only when a query gives up; it began when the store last answered.
    this.changedAt = down ? new Date(this.lastAnswer) : now;
    for (const l of this.listeners) l(this.up, { since: now, downForMs, error: this.lastError });
  }
}
