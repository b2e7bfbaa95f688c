// Audit event ids: UUIDv7 (RFC 9562), the millisecond time first, then random bits. The store
// keeps a unique index on the id (inserts are idempotent by id), and random v4 ids land all over
// that B-tree: at 100,000 rows an insert cost 15 µs against 4–7 µs with time-ordered ids, which
// append (measured with node:sqlite, batches of 500). 74 random bits per millisecond keep ids
// unique across instances as v4's 122 did in practice.
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
// Random bytes for 256 ids at a time: one call into the CSPRNG instead of one per id.
const pool = Buffer.alloc(16 * 256);
let offset = pool.length;

export function newEventId(now: number = Date.now()): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 16);
  offset += 16;
  // 48-bit big-endian Unix milliseconds (JS bit operators are 32-bit: split the high part off).
  const high = Math.floor(now / 2 ** 32);
  b[0] = (high >>> 8) & 0xff;
  b[1] = high & 0xff;
  b[2] = (now >>> 24) & 0xff;
  b[3] = (now >>> 16) & 0xff;
  b[4] = (now >>> 8) & 0xff;
  b[5] = now & 0xff;
  b[6] = (b[6]! & 0x0f) | 0x70; // version 7
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}
