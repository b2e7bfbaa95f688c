// A real node:http server on 127.0.0.1:0 that hands each request's headers, rawHeaders, url and
// method back to the test, so the auth and path functions are tested on exactly what Node's HTTP
// parser produces from bytes on the wire (it folds repeated headers, keeps rawHeaders, and
// refuses some request lines itself). Requests are written raw over a socket so nothing on the
// client side normalises them first.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Captured {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
}

export interface CaptureServer {
  port: number;
  /** Send `head` (request line + header lines, without the final blank line). Resolves with the
   *  request Node parsed, or null when Node's parser refused the bytes itself (400 to the client). */
  send(head: string): Promise<Captured | null>;
  close(): Promise<void>;
}

export async function startCaptureServer(): Promise<CaptureServer> {
  const waiting: Array<(c: Captured | null) => void> = [];
  const server = http.createServer((req, res) => {
    const c: Captured = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders };
    res.writeHead(204, { connection: 'close' }).end();
    waiting.shift()?.(c);
  });
  server.on('clientError', (_err, socket) => {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    waiting.shift()?.(null);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    send(head) {
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        const sock = net.connect(port, '127.0.0.1', () => {
          sock.write(Buffer.from(`${head}\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`, 'latin1'));
        });
        sock.on('error', reject);
        sock.resume();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
