// The listen address and the one rule about plain HTTP (docs/design.md §2): only with --insecure-http,
// and only on loopback unless --i-know-this-is-exposed. Warden never silently serves plain HTTP.
import { isIP } from 'node:net';
import type { Config, RuntimeFlags } from '../config/schema.ts';
import { configError } from '../errors.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(listen: string): ListenAddress {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(listen.slice(i + 1)) };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

export function checkListenSafety(config: Config, listen: ListenAddress, flags: RuntimeFlags): void {
  if (config.tls.mode !== 'off') return;
  if (!flags.insecureHttp) {
    throw configError('tls.mode', 'got "off"; plain HTTP needs the --insecure-http flag (allowed: local | files | acme)');
  }
  if (!isLoopback(listen.host) && !flags.exposedOk) {
    throw configError(
      'listen',
      `got ${JSON.stringify(config.listen)}; plain HTTP is only served on a loopback address (127.0.0.1, ::1) unless --i-know-this-is-exposed is also given`,
    );
  }
}
