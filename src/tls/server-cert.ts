// The server certificate signed by the local CA: ≤ 397 days (the CA/Browser Forum ceiling
// clients enforce even for private CAs, e.g. Apple), SANs for every name the listener answers to,
// reused across restarts until 2/3 of its life or until the wanted names change.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { certSans } from './x509-util.ts';
import { ensureLocalCa, type LocalCa } from './local-ca.ts';
import { signLeafCert } from './leaf-cert.ts';
import { renewalTime } from './cert-info.ts';
import { fileExists, readFileOrNull, writeFileAtomic } from './files.ts';

export const SERVER_CERT_FILE = 'server.pem';
export const SERVER_KEY_FILE = 'server-key.pem';
export const SERVER_CERT_MAX_DAYS = 397;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

export interface ServerCert extends IssuedCert {
  certPath: string;
  keyPath: string;
  notBefore: Date;
  notAfter: Date;
  /** when Warden replaces it (2/3 of its life) */
  renewAt: Date;
  /** true when the files on disk were reused, false when a new certificate was issued */
  reused: boolean;
}

export interface IssueOptions {
  /** Lifetime in days, at most 397. Default 397. */
  days?: number;
  /** Exact lifetime in milliseconds (tests exercise renewal with a short-lived certificate). */
  lifetimeMs?: number;
}

/**
 * This machine's non-loopback addresses (IPv4, and IPv6 outside fe80::/10, whose zone makes
 * them useless in a certificate), so `https://<lan-ip>:11443` works from another machine.
 */
export function localAddresses(ifaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string[] {
  const out: string[] = [];
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && /^fe[89ab]/i.test(a.address)) continue;
      out.push(a.address.toLowerCase());
    }
  }
  return out;
}

/** localhost, 127.0.0.1, ::1, this machine's hostname and addresses, and the extra names, without duplicates. */
export function serverCertNames(extra: readonly string[]): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname().toLowerCase(), ...localAddresses(), ...extra.map((h) => h.trim().toLowerCase())];
  return [...new Set(names.filter(Boolean))];
}

/** The names a certificate was issued for that the defaults do not give: the operator's own. */
export function extraNames(certNames: readonly string[]): string[] {
  const defaults = new Set(serverCertNames([]));
  return certNames.map((n) => n.toLowerCase()).filter((n) => !defaults.has(n));
}

export async function issueServerCert(ca: LocalCa, hostnames: readonly string[], opts: IssueOptions = {}): Promise<IssuedCert> {
  const names = serverCertNames(hostnames);
  const days = Math.min(opts.days ?? SERVER_CERT_MAX_DAYS, SERVER_CERT_MAX_DAYS);
  const lifetime = opts.lifetimeMs ?? days * 86_400_000;
  // Backdated a little for clients whose clock is behind (a short test lifetime gets less).
  const notBefore = new Date(Date.now() - Math.min(60_000, lifetime / 10));
  const notAfter = new Date(notBefore.getTime() + lifetime);
  const cn = names.find((n) => n !== 'localhost' && !/^[\d.:]+$/.test(n)) ?? 'localhost';
  return signLeafCert(ca, { subject: `CN=${cn}, O=Ollama Warden`, purpose: 'serverAuth', notBefore, notAfter, sans: names });
}

/** Why a certificate + key pair cannot be served for this CA, or null when it can. */
export function invalidPairReason(certPem: string, keyPem: string, ca: LocalCa): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return 'key does not match';
  } catch {
    return 'unreadable';
  }
  const caCert = new X509Certificate(ca.certPem);
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return 'not issued by the current CA';
  return null;
}

/** Why the certificate on disk cannot be reused, or null when it can. */
function staleReason(certPem: string, keyPem: string, ca: LocalCa, names: readonly string[], now: Date): string | null {
  const invalid = invalidPairReason(certPem, keyPem, ca);
  if (invalid) return invalid;
  const cert = new X509Certificate(certPem);
  if (now >= renewalTime(new Date(cert.validFrom), new Date(cert.validTo))) return 'past 2/3 of its life';
  const have = new Set(certSans(certPem).map((s) => s.toLowerCase()));
  if (names.length !== have.size || names.some((n) => !have.has(n))) return 'names changed';
  return null;
}

/** Reuses tls/server.pem + tls/server-key.pem unless missing, stale or for other names; else
 *  issues and writes a new pair. */
export async function ensureServerCert(
  tlsDir: string,
  hostnames: readonly string[],
  opts: IssueOptions & { now?: Date; ca?: LocalCa } = {},
): Promise<ServerCert> {
  const ca = opts.ca ?? (await ensureLocalCa(tlsDir));
  const certPath = join(tlsDir, SERVER_CERT_FILE);
  const keyPath = join(tlsDir, SERVER_KEY_FILE);
  const names = serverCertNames(hostnames);
  const certPem = fileExists(certPath) ? readFileOrNull(certPath) : null;
  const keyPem = fileExists(keyPath) ? readFileOrNull(keyPath) : null;
  let pair: IssuedCert;
  let reused = false;
  if (certPem && keyPem && staleReason(certPem, keyPem, ca, names, opts.now ?? new Date()) === null) {
    pair = { certPem, keyPem };
    reused = true;
  } else {
    pair = await issueServerCert(ca, hostnames, opts);
    writeFileAtomic(keyPath, pair.keyPem, 0o600);
    writeFileAtomic(certPath, pair.certPem, 0o644);
  }
  const cert = new X509Certificate(pair.certPem);
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  return { ...pair, certPath, keyPath, notBefore, notAfter, renewAt: renewalTime(notBefore, notAfter), reused };
}
