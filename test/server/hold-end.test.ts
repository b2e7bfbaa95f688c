// holdEnd keeps an answer's last bytes from the client until its audit line is written. A
// request that came in on a keep-alive connection while the previous answer was still
// finishing has no socket yet when it is held; its answer must be held all the same (it used to
// go out as soon as the socket came, before its line).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { holdEnd } from '../../src/server/hold-end.ts';

/** What the client has read so far, and a way to wait until it holds some text. */
function reader(socket: Socket): { text(): string; until(what: string): Promise<void> } {
  let text = '';
  const waiters: Array<() => void> = [];
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    text += d;
    for (const w of waiters.splice(0)) w();
  });
  return {
    text: () => text,
    async until(what) {
      while (!text.includes(what)) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

/** A bounded look for something that must not come: long enough for bytes on loopback. */
const QUIET_MS = 300;

describe('holdEnd', () => {
  let server: Server;
  let port = 0;
  /** release functions, in request order */
  const releases: Array<() => void> = [];
  const held: ServerResponse[] = [];
  let waitingFor: { n: number; done: () => void } | null = null;

  before(async () => {
    server = createServer((req, res) => {
      const release = holdEnd(res);
      if (req.url === '/write-then-end') {
        // the completing write of a Content-Length answer, then end() with nothing more
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 11 });
        res.write('second body');
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 10 });
        res.end('first body');
      }
      releases.push(release);
      held.push(res);
      if (waitingFor && releases.length >= waitingFor.n) waitingFor.done();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('holds each answer until its release, also one queued behind the previous answer on the connection', async () => {
    const socket = connect(port, '127.0.0.1');
    const got = reader(socket);
    // Two requests in one packet: the second is parsed while the first answer is held, so its
    // response is created without a socket (Node assigns it when the first one finishes).
    socket.write('GET /end HTTP/1.1\r\nHost: x\r\n\r\nGET /write-then-end HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((done) => (waitingFor = { n: 2, done }));
    assert.equal(held[1]!.socket, null, 'control: the second answer was held before it had a socket');

    await new Promise((r) => setTimeout(r, QUIET_MS));
    assert.equal(got.text(), '', 'nothing of either answer before its release');

    releases[0]!();
    await got.until('first body');
    await new Promise((r) => setTimeout(r, QUIET_MS));
    assert.ok(!got.text().includes('second body'), `the second answer went out before its release:\n${got.text()}`);

    releases[1]!();
    await got.until('second body');
    socket.destroy();
  });
});
