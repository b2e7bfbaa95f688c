// `warden cert trust`: how to make each OS and each client trust the local CA, and
// `--install` doing it for this OS (`--dry-run` prints the commands instead).
import { copyFileSync, chmodSync, existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { posix } from 'node:path';
import { tlsError } from './files.ts';

export type TrustPlatform = 'linux' | 'darwin' | 'win32';

/** Where Linux distributions keep extra anchors, and the command that rebuilds the bundle. */
export const LINUX_STORES = [
  { family: 'Debian/Ubuntu/Alpine', dir: '/usr/local/share/ca-certificates', file: 'ollama-warden-ca.crt', update: ['update-ca-certificates'] },
  { family: 'Fedora/RHEL/openSUSE', dir: '/etc/pki/ca-trust/source/anchors', file: 'ollama-warden-ca.pem', update: ['update-ca-trust', 'extract'] },
  { family: 'Arch', dir: '/etc/ca-certificates/trust-source/anchors', file: 'ollama-warden-ca.pem', update: ['trust', 'extract-compat'] },
] as const;

export type TrustStep = { kind: 'copy'; from: string; to: string } | { kind: 'exec'; cmd: string; args: string[] };

export interface InstallOptions {
  /** Linux: anchor directory (tests point it at a temp dir); default: the first that exists. */
  linuxDir?: string;
  /** Linux: command that rebuilds the system bundle; default the distribution's. [] = none. */
  linuxUpdate?: string[];
  /** macOS/Windows: the current user's store instead of the system one (no admin rights). */
  user?: boolean;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function stepText(step: TrustStep, platform: TrustPlatform): string {
  if (step.kind === 'copy') return platform === 'win32' ? `copy "${step.from}" "${step.to}"` : `cp ${shellQuote(step.from)} ${shellQuote(step.to)}`;
  return [step.cmd, ...step.args].map((a) => (platform === 'win32' ? (/\s/.test(a) ? `"${a}"` : a) : shellQuote(a))).join(' ');
}

/** The steps that add caPath to this platform's trust store. */
export function installCommands(platform: TrustPlatform, caPath: string, opts: InstallOptions = {}): TrustStep[] {
  if (platform === 'darwin') {
    const keychain = opts.user ? '~/Library/Keychains/login.keychain-db' : '/Library/Keychains/System.keychain';
    return [{ kind: 'exec', cmd: 'security', args: ['add-trusted-cert', ...(opts.user ? [] : ['-d']), '-r', 'trustRoot', '-k', keychain, caPath] }];
  }
  if (platform === 'win32') return [{ kind: 'exec', cmd: 'certutil', args: [...(opts.user ? ['-user'] : []), '-addstore', '-f', 'Root', caPath] }];
  const store = opts.linuxDir
    ? { dir: opts.linuxDir, file: LINUX_STORES[0].file, update: opts.linuxUpdate ?? [...LINUX_STORES[0].update] }
    : (() => {
        const found = LINUX_STORES.find((s) => existsSync(s.dir)) ?? LINUX_STORES[0];
        return { dir: found.dir, file: found.file, update: opts.linuxUpdate ?? [...found.update] };
      })();
  const steps: TrustStep[] = [{ kind: 'copy', from: caPath, to: posix.join(store.dir, store.file) }];
  if (store.update.length > 0) steps.push({ kind: 'exec', cmd: store.update[0]!, args: store.update.slice(1) });
  return steps;
}

/** Runs (or with dryRun only lists) the install steps; returns the command lines. */
export function installTrust(platform: TrustPlatform, caPath: string, opts: InstallOptions & { dryRun?: boolean } = {}): { commands: string[]; ran: boolean } {
  if (!existsSync(caPath)) throw tlsError(`local CA ${caPath} does not exist yet; run \`warden init\` first`);
  const steps = installCommands(platform, caPath, opts);
  const commands = steps.map((s) => stepText(s, platform));
  if (opts.dryRun) return { commands, ran: false };
  for (const s of steps) {
    try {
      if (s.kind === 'copy') {
        mkdirSync(posix.dirname(s.to), { recursive: true });
        copyFileSync(s.from, s.to);
        chmodSync(s.to, 0o644);
      } else {
        execFileSync(s.cmd, s.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied (run it as root / Administrator, or use --user where offered)' : code === 'ENOENT' ? 'command or directory not found' : err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw tlsError(`installing the CA failed at \`${stepText(s, platform)}\`: ${why}`, err);
    }
  }
  return { commands, ran: true };
}

/** A path as Windows writes it: kept when it is one; a POSIX path has no meaning there. */
function windowsPath(caPath: string): string | null {
  return /^[A-Za-z]:[\\/]|^\\\\/.test(caPath) || caPath.includes('\\') ? caPath : null;
}

/** The text `warden cert trust` prints: every OS and every common client. */
export function trustInstructions(caPath: string, fingerprint256: string, opts: { url?: string } = {}): string {
  const url = opts.url ?? 'https://localhost:11443';
  // On Windows the CA's own path; from a Linux or macOS data dir, the file copied over as ca.pem.
  const winPath = windowsPath(caPath) ?? 'ca.pem';
  const winNote = windowsPath(caPath) ? '' : `   (copy ${caPath} to the Windows machine as ca.pem first)`;
  const q = shellQuote(caPath);
  const lines = [
    `Warden's local CA: ${caPath}`,
    `SHA-256 fingerprint: ${fingerprint256}`,
    `Check the fingerprint before trusting a copy: openssl x509 -noout -fingerprint -sha256 -in ${q}`,
    '',
    'Trust it system-wide (or run `warden cert trust --install`, add --dry-run to see the commands):',
    ...LINUX_STORES.map((s) => `  Linux (${s.family}): sudo cp ${q} ${s.dir}/${s.file} && sudo ${s.update.join(' ')}`),
    `  macOS:   sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${q}`,
    `  Windows (Administrator): certutil -addstore -f Root "${winPath}"   (current user only: certutil -user -addstore Root "${winPath}")${winNote}`,
    '',
    'Or per client, without touching the system store (WARDEN_KEY=owk_… is one of your keys):',
    `  curl: curl --cacert ${q} -H "Authorization: Bearer $WARDEN_KEY" ${url}/api/version`,
    `  ollama CLI (Linux):   SSL_CERT_FILE=${q} OLLAMA_HOST=${url} OLLAMA_AUTH=1 ollama list   (register its key first: warden keys create --name laptop --ollama-pubkey ~/.ollama/id_ed25519.pub)`,
    '  ollama CLI (macOS):   uses the Keychain: trust the CA system-wide as above, then OLLAMA_AUTH=1 as on Linux',
    '  ollama CLI (Windows): uses the Windows store: certutil as above, then OLLAMA_AUTH=1 as on Linux',
    `  Node.js (ollama-js, openai): NODE_EXTRA_CA_CERTS=${q} node app.js`,
    `  Python httpx / ollama-python: httpx.Client(verify="${caPath}")  or  SSL_CERT_FILE=${q}`,
    `  Python requests: REQUESTS_CA_BUNDLE=${q}`,
  ];
  return lines.join('\n') + '\n';
}

/** The platform names installCommands knows, from process.platform. */
export function currentTrustPlatform(p: NodeJS.Platform = process.platform): TrustPlatform {
  if (p === 'darwin' || p === 'win32') return p;
  return 'linux';
}

