// Where Warden keeps its data when --data-dir / WARDEN_DATA_DIR are not given: the platform's
// per-user data directory. The platform and environment are parameters so every branch is
// testable on any OS.
import { homedir } from 'node:os';
import { join, win32, posix } from 'node:path';

export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  if (platform === 'win32') {
    const appData = env.APPDATA ?? win32.join(home, 'AppData', 'Roaming');
    return win32.join(appData, 'warden');
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'warden');
  const xdg = env.XDG_DATA_HOME;
  return posix.join(xdg && xdg.startsWith('/') ? xdg : posix.join(home, '.local', 'share'), 'warden');
}

/** --data-dir, then WARDEN_DATA_DIR, then the platform default. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.WARDEN_DATA_DIR ?? defaultDataDir(process.platform, env);
}

export function tlsDir(dataDir: string): string {
  return join(dataDir, 'tls');
}
