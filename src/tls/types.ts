// Types shared by the certificate sources and the manager.
import type { CertSource } from './cert-info.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type TlsLog = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A certificate (leaf first, chain after) and its unencrypted PKCS#8 key, ready for OpenSSL. */
export interface ServingPair {
  certPem: string;
  keyPem: string;
  source: CertSource;
}

/** How a source hands a new pair to the manager (which hot-swaps it into the listener). */
export type SwapFn = (pair: ServingPair) => void;

export interface CertSourceHandle {
  readonly pair: ServingPair;
  close(): void;
}
