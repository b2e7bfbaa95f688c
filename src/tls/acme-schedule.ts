// When the next ACME order runs: at the certificate's renewal time (2/3 of its life) after a
// success; after a failure, with exponential backoff (retryMs doubling up to maxRetryMs). A
// failed order never takes the current certificate out of service; waits past setTimeout's
// ceiling (~24.8 days) are chained.
const MAX_TIMEOUT = 2_147_483_647;

export interface OrderScheduleOptions<T> {
  order(): Promise<T>;
  /** a finished order's result put into service; returns when the next order is due */
  succeeded(result: T): Date;
  /** an order failed (or putting its result into service did); the retry comes after delayMs */
  failed(err: unknown, delayMs: number): void;
  /** the time of the next attempt, for status */
  scheduled(at: Date): void;
  retryMs: number;
  maxRetryMs: number;
}

export class OrderSchedule<T> {
  private readonly o: OrderScheduleOptions<T>;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;

  constructor(o: OrderScheduleOptions<T>) {
    this.o = o;
  }

  at(when: Date): void {
    if (this.closed) return;
    this.o.scheduled(when);
    const wait = Math.max(0, when.getTime() - Date.now());
    this.timer = setTimeout(() => (wait > MAX_TIMEOUT ? this.at(when) : void this.attempt()), Math.min(wait, MAX_TIMEOUT));
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    try {
      const result = await this.o.order();
      // Closed while the order ran: its certificate is not put into service.
      if (this.closed) return;
      this.failures = 0;
      this.at(this.o.succeeded(result));
    } catch (err) {
      this.failures++;
      const delay = Math.min(this.o.maxRetryMs, this.o.retryMs * 2 ** (this.failures - 1));
      this.o.failed(err, delay);
      this.at(new Date(Date.now() + delay));
    }
  }
}
