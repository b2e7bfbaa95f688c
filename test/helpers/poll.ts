// Waiting for state, never sleeping and hoping: the condition is checked every `everyMs` until it
// holds or `timeoutMs` runs out (generous: the suite must pass on a loaded 2-core machine, and a
// poll that succeeds ends at once). `what` says what was awaited; as a function it is evaluated
// at the timeout, so the failure can say how far things got.
import assert from 'node:assert/strict';

export async function poll(what: string | (() => string), cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
