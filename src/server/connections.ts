// Live connections: for the per-address cap (one client cannot hold every socket), for the
// admin UI's connection list, and so a revoked client certificate can be cut off on sockets
// that were opened before the revocation.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { addressKey } from '../auth/lockout.ts';

export interface ConnectionInfo {
  id: number;
  address: string;
  port: number;
  tlsVersion: string | null;
  cipher: string | null;
  clientCertSubject: string | null;
  keyId: string | null;
  openStreams: number;
  requests: number;
  since: string;
}

export interface ConnState extends ConnectionInfo {
  socket: Socket;
  /** a request on this connection is being held in the lockout tarpit */
  tarpitted: boolean;
}

export class ConnectionTracker {
  private readonly states = new Map<Socket, ConnState>();
  private readonly perAddress = new Map<string, number>();
  private nextId = 1;
  private readonly maxPerAddress: number;

  constructor(maxPerAddress: number) {
    this.maxPerAddress = maxPerAddress;
  }

  /** A new TCP connection: counted against its address's cap before any TLS work is done.
   *  Returns false when the address is over the cap (the caller destroys the socket). */
  admit(socket: Socket): boolean {
    // IPv6 per /64, as the lockout counts: one subscriber's allocation is one client.
    const address = addressKey(normaliseAddress(socket.remoteAddress));
    const n = this.perAddress.get(address) ?? 0;
    if (n >= this.maxPerAddress) return false;
    this.perAddress.set(address, n + 1);
    socket.once('close', () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    return true;
  }

  /** Starts tracking the socket requests arrive on (the TLS socket for HTTPS, else the TCP one). */
  track(socket: Socket): ConnState {
    const state: ConnState = {
      id: this.nextId++,
      socket,
      address: normaliseAddress(socket.remoteAddress),
      port: socket.remotePort ?? 0,
      tlsVersion: null,
      cipher: null,
      clientCertSubject: null,
      keyId: null,
      openStreams: 0,
      requests: 0,
      since: new Date().toISOString(),
      tarpitted: false,
    };
    this.states.set(socket, state);
    socket.once('close', () => this.states.delete(socket));
    return state;
  }

  /** Fills in TLS details once the handshake is done. */
  secured(socket: TLSSocket, clientCertSubject: string | null): void {
    const s = this.states.get(socket) ?? this.track(socket);
    s.tlsVersion = socket.getProtocol() ?? null;
    s.cipher = socket.getCipher()?.standardName ?? null;
    s.clientCertSubject = clientCertSubject;
  }

  get(socket: Socket): ConnState | undefined {
    return this.states.get(socket);
  }

  all(): IterableIterator<ConnState> {
    return this.states.values();
  }

  get size(): number {
    return this.states.size;
  }

  list(): ConnectionInfo[] {
    return [...this.states.values()].map(({ socket: _socket, tarpitted: _tarpitted, ...info }) => info);
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, so one client is counted once whichever stack it used. */
export function normaliseAddress(addr: string | undefined): string {
  if (!addr) return 'unknown';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
