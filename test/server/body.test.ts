// readBody (src/server/body.ts) on a real node:http request: a body that stops arriving is a 408
// with its own error code (not BAD_REQUEST), and its bytes are given back to the budget.
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ErrorCode, type WardenError } from '../../src/errors.ts';
import { readBody } from '../../src/server/body.ts';
import { createBodyBudget } from '../../src/server/body-budget.ts';

test('a body that stops arriving is refused with 408 and WARDEN_ERR_REQUEST_TIMEOUT', async (t) => {
  const budget = createBodyBudget(1024);
  let settle!: (err: WardenError) => void;
  let fail!: (err: Error) => void;
  const outcome = new Promise<WardenError>((resolve, reject) => ((settle = resolve), (fail = reject)));
  const server = createServer((req: IncomingMessage, res) => {
    const reservation = budget.reserve();
    readBody(req, 100, 200, reservation).then(
      () => fail(new Error('the body was accepted')),
      (err: WardenError) => {
        reservation.release();
        settle(err);
        res.destroy();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const client = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/api/chat', headers: { 'content-length': '10' } });
  client.on('error', () => undefined);
  client.write('{"');
  const err = await outcome;
  client.destroy();
  assert.equal(err.status, 408);
  assert.equal(err.code, ErrorCode.REQUEST_TIMEOUT);
  assert.equal(err.message, 'request body was not received in time');
  assert.equal(budget.inUse, 0);
});
