// A TCP proxy on loopback in front of a real server (the tests' PostgreSQL), to make the network
// path between Warden and its store fail the ways real networks do: `reset()` cuts every open
// connection with a TCP RST (a restarted firewall, a failover); `blackhole()` silently stops
// carrying bytes, in both directions and for new connections too, as a cut path does (no reset,
// no answer); `refuse()` resets every connection, open and new, as a stopped server's host does;
// `restore()` carries on, delivering what was held, as TCP does once the path is back.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** host:port to connect to instead of the target */
  port: number;
  /** `url` with its host:port replaced by the proxy's */
  via(url: string): string;
  reset(): void;
  blackhole(): void;
  refuse(): void;
  restore(): void;
  /** open client connections */
  readonly open: number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket | null;
  toServer: Buffer[];
  toClient: Buffer[];
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let holed = false;
  let refusing = false;

  const flush = (p: Pair): void => {
    if (holed) return;
    if (!p.server) {
      p.server = connect(target.port, target.host);
      p.server.on('data', (d: Buffer) => {
        if (holed) p.toClient.push(d);
        else p.client.write(d);
      });
      p.server.on('error', () => p.client.destroy());
      p.server.on('close', () => p.client.destroy());
    }
    for (const d of p.toServer.splice(0)) p.server.write(d);
    for (const d of p.toClient.splice(0)) p.client.write(d);
  };

  const server: Server = createServer((client) => {
    if (refusing) return void client.resetAndDestroy();
    const p: Pair = { client, server: null, toServer: [], toClient: [] };
    pairs.add(p);
    client.on('data', (d: Buffer) => {
      p.toServer.push(d);
      flush(p);
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      pairs.delete(p);
      p.server?.destroy();
    });
    flush(p);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  const resetAll = (): void => {
    for (const p of pairs) {
      p.client.resetAndDestroy();
      p.server?.resetAndDestroy();
    }
    pairs.clear();
  };

  return {
    port,
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    reset: resetAll,
    blackhole() {
      holed = true;
    },
    refuse() {
      refusing = true;
      resetAll();
    },
    restore() {
      holed = false;
      refusing = false;
      for (const p of pairs) flush(p);
    },
    get open() {
      return pairs.size;
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.server?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
