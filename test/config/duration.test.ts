// One reading of a duration for the CLI's flags and the admin API's fields: same inputs, same
// seconds, same refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DURATION_SECONDS, readDuration } from '../../src/config/duration.ts';
import { parseDuration as cliDuration } from '../../src/cli/duration.ts';
import { parseDuration as apiDuration } from '../../src/admin/input.ts';

const accepted: Array<[string, number]> = [
  ['90s', 90],
  ['15m', 900],
  ['24h', 86400],
  ['30d', 2_592_000],
  ['2w', 1_209_600],
  ['0', 0],
  ['3600', 3600],
  [' 5 m ', 300],
];

for (const [text, seconds] of accepted) {
  test(`"${text}" is ${seconds} s for the CLI and the admin API alike`, () => {
    assert.deepEqual(readDuration(text), { ok: true, seconds });
    assert.equal(cliDuration(text, '--grace'), seconds);
    assert.equal(apiDuration('grace', text), seconds);
  });
}

test('the admin API also takes a JSON number of seconds', () => {
  assert.equal(apiDuration('grace', 86400), 86400);
});

for (const bad of ['a while', '1.5h', '-1', '10y', '', '99999999w']) {
  test(`"${bad}" is refused by both, naming the flag or the field`, () => {
    assert.equal(readDuration(bad).ok, false);
    assert.throws(() => cliDuration(bad, '--grace'), (e: Error) => e.message.startsWith('--grace: got '));
    assert.throws(() => apiDuration('grace', bad), (e: Error & { status?: number }) => e.message.startsWith('grace: got ') && e.status === 400);
  });
}

test('nothing longer than 100 years', () => {
  assert.equal(readDuration(MAX_DURATION_SECONDS).ok, true);
  assert.equal(readDuration(MAX_DURATION_SECONDS + 1).ok, false);
});
