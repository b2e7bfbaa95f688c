// `warden init`: settings (asked with a terminal, defaults with --yes or without one), the
// config file, the local CA and server certificate, the store, and the first admin key —
// printed once, with ready-to-paste client snippets. Never overwrites an existing config, CA
// or key store: a second run only fills in what is missing.
import { existsSync, mkdirSync, openSync, writeSync, closeSync, constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { usageError } from '../../errors.ts';
import type { Config } from '../../config/schema.ts';
import { CONFIG_FILE, DEFAULTS, validateConfig, deepMerge, readConfigFile, type ConfigFlags } from '../../config/load.ts';
import { resolveDataDir, tlsDir } from '../../config/paths.ts';
import { setConfigValue, writeConfigFile } from '../../config/write.ts';
import { checkCertName } from './hostnames.ts';
import { ensureLocalCa } from '../../tls/local-ca.ts';
import { ensureServerCert, serverCertNames } from '../../tls/server-cert.ts';
import { SCOPES } from '../../store/types.ts';
import { cliContext, ensureDataDir, openStoreSession, type GlobalOptions } from '../context.ts';
import { clientSnippets, snippetTarget } from './snippets.ts';

export interface InitOptions extends GlobalOptions {
  hostname?: string[];
  upstream?: string;
  listen?: string;
  tls?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientAuth?: string;
  acmeDomain?: string[];
  acmeEmail?: string;
  /** commander's --no-audit */
  audit?: boolean;
  yes?: boolean;
  /** write the first admin key to this file (mode 0600, never overwritten) instead of stdout */
  keyFile?: string;
}

export interface InitResult {
  dataDir: string;
  created: boolean;
  adminKey: string | null;
  caPath: string | null;
  caFingerprint: string | null;
  /** where the first admin key was written (--key-file), when it was */
  keyFile: string | null;
}

/** The settings init writes: only what differs from the defaults, so upgrades get new defaults. */
function settingsFromFlags(o: InitOptions): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  const tls: Record<string, unknown> = {};
  if (o.listen) s.listen = o.listen;
  if (o.upstream) s.upstream = o.upstream;
  if (o.tls) tls.mode = o.tls;
  if (o.tlsCert) tls.cert = o.tlsCert;
  if (o.tlsKey) tls.key = o.tlsKey;
  if (o.hostname && o.hostname.length > 0) tls.hostnames = o.hostname;
  if (o.clientAuth) tls.clientAuth = o.clientAuth;
  if (o.acmeDomain?.length || o.acmeEmail) tls.acme = { ...(o.acmeDomain?.length ? { domains: o.acmeDomain } : {}), ...(o.acmeEmail ? { email: o.acmeEmail } : {}) };
  if (Object.keys(tls).length > 0) s.tls = tls;
  if (o.audit === false) s.audit = { enabled: false };
  return s;
}

export async function runInit(o: InitOptions, opts: { quietIfDone?: boolean; /** where the summary goes instead of stdout (serve's log) */ print?: (text: string) => void } = {}): Promise<InitResult> {
  const dataDir = resolveDataDir(o.dataDir);
  ensureDataDir(dataDir);
  const configFile = o.config ?? join(dataDir, CONFIG_FILE);
  const interactive = !o.yes && process.stdin.isTTY === true && process.stdout.isTTY === true;

  const keyFile = o.keyFile ? resolve(o.keyFile) : null;
  // Checked before anything is created: an existing file is never overwritten or reused.
  if (keyFile && existsSync(keyFile)) throw usageError(`--key-file: ${keyFile} already exists; remove it or choose another path`);

  const hadConfig = existsSync(configFile);
  if (!hadConfig) {
    let settings = settingsFromFlags(o);
    if (interactive) {
      // Loaded only here: `serve` runs init on an empty data dir, and the prompt library would
      // otherwise stay in the gateway's heap for its whole life.
      const { askInitSettings } = await import('./init-prompts.ts');
      settings = deepMerge(settings, await askInitSettings(deepMerge(DEFAULTS as unknown as Record<string, unknown>, settings) as unknown as Config));
    }
    validateConfig(deepMerge(settings, {})); // refuse bad flags before writing anything
    writeConfigFile(configFile, settings);
  } else {
    const existing = readConfigFile(configFile);
    validateConfig(existing);
    // `init --hostname` on a set-up directory adds the names (the certificate is reissued
    // below); nothing else of an existing setup changes.
    const have = ((existing.tls as { hostnames?: unknown } | undefined)?.hostnames as string[] | undefined) ?? [];
    const added = (o.hostname ?? []).map(checkCertName).filter((h) => !have.map((x) => String(x).toLowerCase()).includes(h));
    if (added.length > 0) setConfigValue(configFile, ['tls', 'hostnames'], [...have, ...added]);
  }

  const flags: ConfigFlags = {};
  const ctx = cliContext({ dataDir, config: configFile }, flags, { mayBeUninitialised: true });
  const config = ctx.config;

  let caPath: string | null = null;
  let caFingerprint: string | null = null;
  if (config.tls.mode === 'local' || (config.tls.clientAuth !== 'off' && !config.tls.clientCA)) {
    const ca = await ensureLocalCa(tlsDir(dataDir));
    caPath = ca.certPath;
    caFingerprint = ca.fingerprint256;
    if (config.tls.mode === 'local') await ensureServerCert(tlsDir(dataDir), config.tls.hostnames, { ca });
  }

  const session = await openStoreSession(ctx);
  let adminKey: string | null = null;
  try {
    const existing = await session.store.keys.list();
    if (existing.length === 0) {
      const issued = await session.keys.create({ name: 'admin', scopes: [...SCOPES] }, 'cli');
      adminKey = issued.key;
      if (keyFile) writeKeyFile(keyFile, adminKey);
    }
  } finally {
    await session.close();
  }

  const result: InitResult = { dataDir, created: !hadConfig || adminKey !== null, adminKey, caPath, caFingerprint, keyFile: adminKey && keyFile ? keyFile : null };
  if (!(opts.quietIfDone && adminKey === null)) {
    const text = initSummary(result, config);
    if (opts.print) opts.print(text);
    else process.stdout.write(text + '\n');
  }
  return result;
}

/** The key file is created exclusively with mode 0600 (a planted file or link is refused). */
function writeKeyFile(file: string, key: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    writeSync(fd, key + '\n');
  } finally {
    closeSync(fd);
  }
}

function initSummary(r: InitResult, config: Config): string {
  const out: string[] = [];
  out.push(`Warden data directory: ${r.dataDir}`);
  if (r.caPath) {
    out.push(`Local CA certificate:  ${r.caPath}`);
    out.push(`CA SHA-256 fingerprint: ${r.caFingerprint}`);
    out.push('  (trust it on clients: `warden cert trust` prints how for each OS and client)');
  }
  if (r.adminKey && r.keyFile) {
    // Run by the installer or a script whose output may be logged: the key goes to the file only.
    out.push('');
    out.push(`First API key (name "admin", every scope) written to ${r.keyFile} (mode 0600, readable only by you).`);
    out.push('Move it somewhere safe and delete the file; it is not shown anywhere else.');
    out.push(`Use it as:  curl --cacert <CA> -H "Authorization: Bearer $(cat ${JSON.stringify(r.keyFile)})" https://localhost:${config.listen.slice(config.listen.lastIndexOf(':') + 1)}/api/tags`);
  } else if (r.adminKey) {
    out.push('');
    out.push('First API key (name "admin", every scope). It is shown ONCE — store it now:');
    out.push('');
    out.push(`  ${r.adminKey}`);
    out.push('');
    const target = snippetTarget(config, r.dataDir, r.caPath);
    if (target.note) out.push(target.note);
    out.push(clientSnippets({ config, key: r.adminKey, caPath: target.caPath, host: target.host }));
  } else {
    out.push('Already initialised: existing configuration, CA and keys were kept.');
  }
  if (config.tls.mode === 'local') out.push(`Server certificate names: ${serverCertNames(config.tls.hostnames).join(', ')}  (change them: warden cert hostnames add|remove)`);
  return out.join('\n');
}
