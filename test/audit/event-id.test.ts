// Audit event ids are UUIDv7: time-ordered (the store's unique index on the id then grows at its
// end instead of at random places) and still unique.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newEventId } from '../../src/audit/event-id.ts';

test('an event id is a UUIDv7 whose first 48 bits are the millisecond it was made', () => {
  const now = Date.UTC(2026, 11, 6, 6, 30, 0, 123);
  const id = newEventId(now);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now);
});

test('ids made later sort after earlier ones, and 100,000 ids in one millisecond are all different', () => {
  const a = newEventId(1_000_000);
  const b = newEventId(1_000_001);
  assert.ok(a < b, `${a} should sort before ${b}`);
  const ids = new Set<string>();
  for (let i = 0; i < 100_000; i++) ids.add(newEventId(2_000_000));
  assert.equal(ids.size, 100_000);
});
