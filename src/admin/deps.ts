// What the admin API needs from the running server. The plugin only sees this interface, so the
// server (src/server/) wires in the real key service, CA, connection table and config writer,
// and the tests wire in small stand-ins over a real store.
import type { Config } from '../config/schema.ts';
import type { AuditEvent, ClientCertRecord, KeyRecord, Store } from '../store/types.ts';
import type { KeyInput } from '../auth/key-service.ts';
import type { LockedAddress } from '../auth/lockout.ts';

/** Fields a key can be created with: the key service's own input (raw values; it validates
 *  them and throws a WardenError, status 400, whose message starts with the field name, exactly
 *  as the CLI shows it). */
export type AdminKeyInput = KeyInput;

export type AdminKeyPatch = Partial<AdminKeyInput>;

/** One open client connection on the main listener. */
export interface ConnectionInfo {
  /** Client address and port, e.g. `203.0.113.9:51234` or `[::1]:51234`. */
  address: string;
  /** Key id of the last authenticated request on this connection, null before the first. */
  keyId: string | null;
  /** `TLSv1.3`, `TLSv1.2`, or null for plain HTTP. */
  tlsVersion: string | null;
  /** OpenSSL cipher name, e.g. `TLS_AES_128_GCM_SHA256`. */
  cipher: string | null;
  /** Subject of the client certificate (mTLS), null when none. */
  clientCertSubject: string | null;
  /** Requests in flight (streams) on this connection. */
  openStreams: number;
  /** When the connection was accepted. */
  since: Date;
}

export interface IssuedClientCert {
  record: ClientCertRecord;
  /** PKCS#12 bundle (certificate + key + CA), protected by `password`. */
  bundle: Buffer;
  password: string;
  certPem: string;
  keyPem: string;
}

export interface AdminDeps {
  store: Store;
  /** Resolve a key record from a raw key string (Bearer header or the sign-in form).
   *  null = malformed, unknown, revoked or expired. Constant-time inside. The plugin checks the
   *  `admin` scope itself so that a valid non-admin key gets 403, not 401. */
  authenticateKey(rawKey: string): Promise<KeyRecord | null>;
  /** Whether a raw Bearer value is this run's local control token (constant-time). Never a key:
   *  the plugin accepts it only from this machine and for a few routes (admin/local-token.ts). */
  isLocalToken(raw: string): boolean;
  /** Addresses locked out after failed authentications (IPv6 per /64), and ending one early. */
  lockouts: {
    list(): LockedAddress[];
    clear(address: string): boolean;
  };
  keys: {
    create(input: AdminKeyInput, actor: string): Promise<{ record: KeyRecord; key: string }>;
    rotate(id: string, graceSeconds: number, actor: string): Promise<{ record: KeyRecord; key: string }>;
    update(id: string, patch: AdminKeyPatch, actor: string): Promise<KeyRecord>;
    revoke(id: string, actor: string): Promise<KeyRecord>;
    delete(id: string, actor: string): Promise<void>;
  };
  certs: {
    issue(name: string, days: number, actor: string): Promise<IssuedClientCert>;
    list(): Promise<ClientCertRecord[]>;
    revoke(nameOrSerial: string, actor: string): Promise<ClientCertRecord>;
    /** Warden's local CA certificate (public part only), or null when there is none
     *  (tls.mode files/acme/off before a client certificate was ever issued). */
    ca(): { pem: string; fingerprint256: string; subject: string; notAfter: Date } | null;
  };
  /** The same object `warden status --json` prints. */
  status(): Promise<unknown>;
  connections(): ConnectionInfo[];
  /** Requests per minute for the last 60 minutes, oldest first; `minute` is ISO 8601. */
  requestRate(): Array<{ minute: string; count: number }>;
  settings: {
    get(): Config;
    /** Validates `patch` (a partial config) exactly like warden.yaml, writes it back to the file
     *  and applies what can be applied live. Throws WardenError CONFIG_INVALID naming the field.
     *  `restartNeeded` lists the dotted fields that only take effect after a restart. */
    update(patch: unknown, actor: string): Promise<{ config: Config; restartNeeded: string[] }>;
  };
  /** Re-read keys, revocations and certificate files now; says what was reloaded. */
  reload(): Promise<{ reloaded: string[] }>;
  /** Write an audit event (sign-in failures, sign-ins, sign-outs). */
  audit(event: Partial<AuditEvent> & { kind: string }): void;
}
