// Shared fixtures for the TLS tests: temp dirs, configs, throwaway certificates, real servers.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { configSchema, type Config } from '../../src/config/schema.ts';
import type { LocalCa } from '../../src/tls/local-ca.ts';
import { signLeafCert, type LeafSpec } from '../../src/tls/leaf-cert.ts';
import type { TlsLog } from '../../src/tls/types.ts';

export function tempDir(prefix = 'warden-tls-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tlsConfig(tls: Record<string, unknown>): Config {
  return configSchema.parse({ tls });
}

export interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

export function memoryLog(): { log: TlsLog; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    log: (level, msg, fields) => {
      lines.push(fields ? { level, msg, fields } : { level, msg });
    },
  };
}

/** A certificate signed by `ca` the way Warden signs its own (signLeafCert), with whatever
 *  dates, names and purpose a test needs (default: a server certificate valid now, for a day). */
export function makeCert(
  ca: LocalCa,
  opts: { cn: string; names?: string[]; notBefore?: Date; notAfter?: Date; purpose?: LeafSpec['purpose'] },
): Promise<{ certPem: string; keyPem: string }> {
  return signLeafCert(ca, {
    subject: `CN=${opts.cn}`,
    purpose: opts.purpose ?? 'serverAuth',
    notBefore: opts.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: opts.notAfter ?? new Date(Date.now() + 86_400_000),
    sans: opts.names,
  });
}

export async function listen(options: ServerOptions, handler?: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(options, handler ?? ((_req, res) => res.end('ok')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Opens a TLS connection; resolves with the socket once the handshake is done, rejects on failure. */
export function handshake(port: number, opts: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
    sock.once('secureConnect', () => resolve(sock));
    sock.once('error', reject);
  });
}

export async function peerFingerprint(port: number, ca: string): Promise<string> {
  const sock = await handshake(port, { ca });
  const fp = sock.getPeerX509Certificate()?.fingerprint256 ?? '';
  sock.destroy();
  return fp;
}

export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** In-memory ClientCertRepo with the store contract's semantics (find by name or serial). */
export function memoryClientCerts(): import('../../src/store/types.ts').ClientCertRepo & { rows: import('../../src/store/types.ts').ClientCertRecord[] } {
  const rows: import('../../src/store/types.ts').ClientCertRecord[] = [];
  return {
    rows,
    async add(c) {
      const r = { ...c, revokedAt: null, revocationReason: null };
      rows.push(r);
      return r;
    },
    async list() {
      return rows.map((r) => ({ ...r }));
    },
    async find(nameOrSerial) {
      const hits = rows.filter((r) => r.serial === nameOrSerial || r.name === nameOrSerial);
      return hits.find((r) => r.revokedAt === null) ?? hits.at(-1) ?? null;
    },
    async revoke(serial, reason, at = new Date()) {
      const r = rows.find((x) => x.serial === serial);
      if (!r) throw new Error('not found');
      r.revokedAt = at;
      r.revocationReason = reason;
      return { ...r };
    },
  };
}
