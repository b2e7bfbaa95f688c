// Requests per minute for the last hour, for the UI's chart: 60 counters in a ring.
export class RequestRate {
  private readonly counts = new Array<number>(60).fill(0);
  private readonly minutes = new Array<number>(60).fill(-1);

  hit(now = Date.now()): void {
    const minute = Math.floor(now / 60000);
    const slot = minute % 60;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.counts[slot] = 0;
    }
    this.counts[slot]!++;
  }

  /** Oldest first, one entry per minute of the last hour (zeros included). */
  series(now = Date.now()): Array<{ minute: string; count: number }> {
    const current = Math.floor(now / 60000);
    const out: Array<{ minute: string; count: number }> = [];
    for (let m = current - 59; m <= current; m++) {
      const slot = m % 60;
      out.push({ minute: new Date(m * 60000).toISOString(), count: this.minutes[slot] === m ? this.counts[slot]! : 0 });
    }
    return out;
  }
}
