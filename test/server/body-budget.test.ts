import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBodyBudget } from '../../src/server/body-budget.ts';

test('reservations share one budget; a grow that does not fit takes nothing; release gives all back once', () => {
  const budget = createBodyBudget(100);
  const a = budget.reserve();
  const b = budget.reserve();
  assert.equal(a.grow(60), true);
  assert.equal(b.grow(50), false, 'over the budget');
  assert.equal(budget.inUse, 60, 'a refused grow reserves nothing');
  assert.equal(b.grow(40), true);
  assert.equal(budget.inUse, 100);
  a.release();
  a.release();
  assert.equal(budget.inUse, 40, 'release is idempotent');
  assert.equal(a.grow(1), false, 'a released reservation cannot grow again');
  b.release();
  assert.equal(budget.inUse, 0);
});
