// Records for the store contract tests: every field set to something distinguishable, so a
// column that is dropped or swapped on the way through the database shows up as a diff.
import type { AuditEvent, ClientCertRecord, NewKey, Store } from '../../../src/store/types.ts';

/** One place that knows how to get an empty database and open it (several times, for the
 *  cross-connection tests). Each call to `fresh()` must return a database nobody else uses. */
export interface StoreTarget {
  open(): Promise<Store>;
}
export type FreshTarget = () => Promise<StoreTarget>;

export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0, 123);
export const at = (offsetMs: number): Date => new Date(T0 + offsetMs);

let seq = 0;
export function newKey(over: Partial<NewKey> = {}): NewKey {
  seq++;
  return {
    id: `key_test${seq}`,
    name: `key-${seq}`,
    scopes: ['inference', 'models:read'],
    models: ['llama3.*', 'qwen2.5:*'],
    secretHash: 'a'.repeat(64),
    createdAt: at(seq),
    expiresAt: at(86_400_000),
    rpm: 60,
    tpm: 100_000,
    concurrency: 4,
    certFingerprint: 'b'.repeat(64),
    // One ollama public key belongs to one key only: each fixture key gets its own.
    ollamaPubkeys: [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests${seq}`],
    capNumCtx: 8192,
    capNumPredict: 1024,
    capKeepAlive: 1800,
    ...over,
  };
}

export function auditEvent(over: Partial<AuditEvent> = {}): AuditEvent {
  seq++;
  return {
    time: at(seq * 1000),
    id: `req_${seq}`,
    kind: 'request',
    keyId: 'key_a',
    keyName: 'alice',
    authMethod: 'bearer',
    clientAddress: '127.0.0.1',
    tlsVersion: 'TLSv1.3',
    clientCertSubject: 'CN=alice',
    method: 'POST',
    path: '/api/chat',
    model: 'llama3.2:1b',
    status: 200,
    durationMs: 12.5,
    bytesIn: 345,
    bytesOut: 6_000_000_000, // past 32 bits: a BIGINT that must survive both drivers
    promptTokens: 11,
    evalTokens: 42,
    reason: null,
    actor: null,
    ...over,
  };
}

export function clientCert(over: Partial<Omit<ClientCertRecord, 'revokedAt' | 'revocationReason'>> = {}) {
  seq++;
  const hex = seq.toString(16).padStart(4, '0');
  return {
    serial: `1a2b${hex}`,
    name: `laptop-${seq}`,
    fingerprint: `${hex}`.padEnd(64, 'c'),
    subject: `CN=laptop-${seq}`,
    notBefore: at(0),
    notAfter: at(365 * 86_400_000),
    createdAt: at(seq),
    ...over,
  };
}

/** Opened stores, closed by the suite's after() whatever the test did. */
export class OpenStores {
  readonly #stores: Store[] = [];
  readonly #fresh: FreshTarget;
  constructor(fresh: FreshTarget) {
    this.#fresh = fresh;
  }
  async fresh(): Promise<Store> {
    const target = await this.#fresh();
    return this.track(await target.open());
  }
  async freshTarget(): Promise<StoreTarget> {
    const target = await this.#fresh();
    return { open: async () => this.track(await target.open()) };
  }
  track(s: Store): Store {
    this.#stores.push(s);
    return s;
  }
  async closeAll(): Promise<void> {
    await Promise.all(this.#stores.splice(0).map((s) => s.close()));
  }
}
