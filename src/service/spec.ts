// What every service definition is generated from. The generators (systemd.ts, launchd.ts,
// windows.ts) are pure functions of this object, so each platform branch is tested on any OS.
import { posix, win32 } from 'node:path';
import { usageError } from '../errors.ts';

/** system: runs at boot under a dedicated account (needs root/Administrator).
 *  user: runs in the invoking user's session (systemd --user, a LaunchAgent). */
export type ServiceScope = 'system' | 'user';

export interface ServiceSpec {
  platform: NodeJS.Platform;
  scope: ServiceScope;
  /** Service / unit name. Default "warden". */
  name: string;
  /** The Node.js binary that runs Warden (≥ 22.13). */
  execPath: string;
  /** Warden's CLI entry (dist/src/cli/main.js). */
  scriptPath: string;
  /** Data directory: the only place the service may write. */
  dataDir: string;
  /** Account the system service runs as. Ignored for scope "user". */
  user: string;
  /** Ports Warden binds (the listener, and port 80 for ACME HTTP-01). A port below 1024
   *  needs CAP_NET_BIND_SERVICE on Linux, and that capability is granted only then. */
  ports: number[];
}

export const DEFAULT_SERVICE_NAME = 'warden';
export const DEFAULT_SERVICE_USER = 'warden';
/** launchd wants a reverse-DNS label; the file is named after it. */
export const LAUNCHD_LABEL = 'dev.ollama-warden.warden';

/** Lowest port a non-root process can bind on Linux without a capability. */
export const FIRST_UNPRIVILEGED_PORT = 1024;

export function needsPrivilegedPort(spec: Pick<ServiceSpec, 'ports'>): boolean {
  return spec.ports.some((p) => p > 0 && p < FIRST_UNPRIVILEGED_PORT);
}

/** Control characters (newline above all) would let a path inject a directive into a unit or
 *  plist; they are refused rather than escaped. Spaces and non-ASCII letters are fine. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function validateSpec(spec: ServiceSpec): ServiceSpec {
  for (const [field, value] of [
    ['execPath', spec.execPath],
    ['scriptPath', spec.scriptPath],
    ['dataDir', spec.dataDir],
    ['user', spec.user],
    ['name', spec.name],
  ] as const) {
    if (value.length === 0) throw usageError(`service: ${field} must not be empty`);
    if (CONTROL.test(value)) throw usageError(`service: ${field} contains a control character; choose another path`);
  }
  const path = spec.platform === 'win32' ? win32 : posix;
  for (const field of ['execPath', 'scriptPath', 'dataDir'] as const) {
    if (!path.isAbsolute(spec[field])) throw usageError(`service: ${field} must be an absolute path, got ${JSON.stringify(spec[field])}`);
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(spec.name)) throw usageError(`service: name ${JSON.stringify(spec.name)} may use only letters, digits, '.', '_' and '-'`);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_. \\-]*$/.test(spec.user)) throw usageError(`service: user ${JSON.stringify(spec.user)} is not a valid account name`);
  for (const p of spec.ports) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw usageError(`service: port ${p} is not 0-65535`);
  }
  return spec;
}
