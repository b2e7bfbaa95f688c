// A flood of bad keys must cost little: one audit line per refused attempt made
// the audit log the most expensive part of a refusal, and lets a flooder fill the disk.
//
// Only authentication refusals are aggregated — 401 (missing, malformed, unknown key) and 429
// (address locked out), the requests a flood is made of; the gateway marks them (writeRefusal).
// Framing and smuggling 400s and everything after authentication are always written one by one.
//
// Per window (one second, from the first refusal in it) and per group — status, reason and
// address prefix (IPv4 /24, IPv6 /64) — the first INDIVIDUAL refusals are written in full, the
// rest are counted into one summary event written when the window ends (and on close). Past
// MAX_GROUPS prefixes in a window, new prefixes share the group `*` (per status and reason):
//   kind `request.refused_summary`, status, clientAddress the prefix, time the first counted
//   refusal, durationMs from the first to the last, reason
//   "<N> more refusals from <prefix> until <last ISO time>: <reason>".
// So every refusal is in an individual event or counted in a summary. Metrics count every one.

/** Refusals of one group and window written in full before the rest are counted. */
export const INDIVIDUAL = 5;
/** Prefixes tracked one by one in a window. A flood from more prefixes than this (a botnet
 *  spread over the address space, one new /24 per attempt) is counted per status and reason
 *  under the prefix `*` ("many addresses"): rows stay bounded however many prefixes it uses. */
export const MAX_GROUPS = 100;
export const MANY = '*';

export const SUMMARY_KIND = 'request.refused_summary';

/** The leading count of a summary's reason (`warden audit`, tests, jq users). */
export const SUMMARY_REASON = /^(\d+) more refusals from (\S+) until (\S+): (.*)$/s;

export interface Refusal {
  status?: number | null;
  reason?: string | null;
  clientAddress?: string | null;
}

export interface RefusalSummary {
  kind: typeof SUMMARY_KIND;
  time: Date;
  status: number | null;
  clientAddress: string;
  durationMs: number;
  reason: string;
}

/** IPv4 /24 or IPv6 /64 (v4-mapped addresses as IPv4). */
export function addressPrefix(address: string | null | undefined): string {
  if (!address) return 'unknown';
  const a = address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  const lastDot = a.lastIndexOf('.');
  if (lastDot !== -1) return `${a.slice(0, lastDot)}.0/24`;
  // Expand '::' so the first four groups are the real first four.
  const [head = '', tail] = a.split('%')[0]!.split('::');
  const left = head.split(':').filter(Boolean);
  const right = tail === undefined ? [] : tail.split(':').filter(Boolean);
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const first = groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ''));
  while (first.length < 4) first.push('0');
  return `${first.join(':')}::/64`;
}

interface Group {
  status: number | null;
  reason: string | null;
  prefix: string;
  seen: number;
  more: number;
  first: number;
  last: number;
}

export class RefusalAggregator {
  private groups = new Map<string, Group>();
  private timer: NodeJS.Timeout | null = null;
  private readonly emit: (summary: RefusalSummary) => void;
  private readonly windowMs: number;

  constructor(emit: (summary: RefusalSummary) => void, windowMs = 1000) {
    this.emit = emit;
    this.windowMs = windowMs;
  }

  /** True when the refusal was counted into a summary (the caller writes nothing for it). */
  absorb(e: Refusal): boolean {
    let prefix = addressPrefix(e.clientAddress);
    let key = `${e.status ?? ''}|${prefix}|${e.reason ?? ''}`;
    let g = this.groups.get(key);
    if (!g && this.groups.size >= MAX_GROUPS) {
      prefix = MANY;
      key = `${e.status ?? ''}|${prefix}|${e.reason ?? ''}`;
      g = this.groups.get(key);
    }
    if (!g) {
      g = { status: e.status ?? null, reason: e.reason ?? null, prefix, seen: 0, more: 0, first: 0, last: 0 };
      this.groups.set(key, g);
      if (!this.timer) {
        this.timer = setTimeout(() => this.flush(), this.windowMs);
        this.timer.unref();
      }
    }
    g.seen++;
    if (g.seen <= INDIVIDUAL) return false;
    const now = Date.now();
    if (g.more === 0) g.first = now;
    g.last = now;
    g.more++;
    return true;
  }

  /** Emits the summaries of the window that ended (or of the one running, on close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const groups = this.groups;
    this.groups = new Map();
    for (const g of groups.values()) {
      if (g.more === 0) continue;
      this.emit({
        kind: SUMMARY_KIND,
        time: new Date(g.first),
        status: g.status,
        clientAddress: g.prefix,
        durationMs: g.last - g.first,
        reason: `${g.more} more refusals from ${g.prefix} until ${new Date(g.last).toISOString()}: ${g.reason ?? 'refused'}`,
      });
    }
  }
}
