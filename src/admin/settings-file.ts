// The settings the admin UI may change, and writing them back to warden.yaml. A change is
// validated by the same validateConfig as start-up (so the UI shows the CLI's message), written
// atomically with mode 0600, and comments and unrelated keys in the file are kept.
import { readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { Config } from '../config/schema.ts';
import { deepMerge, envLayer, flagLayer, validateConfig, type ConfigFlags } from '../config/load.ts';
import { configError } from '../errors.ts';

/** Dotted config paths the admin API can change: the TLS and listener options (docs/design.md
 *  §8). Everything else (store, ACME account, limits) stays a file edit. */
export const SETTINGS_FIELDS = [
  'listen',
  'upstream',
  'tls.mode',
  'tls.minVersion',
  'tls.cert',
  'tls.key',
  'tls.clientAuth',
  'tls.clientCA',
  'tls.hostnames',
  'audit.enabled',
] as const;
export type SettingsField = (typeof SETTINGS_FIELDS)[number];

function getPath(obj: unknown, path: string): unknown {
  let node = obj;
  for (const p of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[p];
  }
  return node;
}

/** The editable settings of a config, as a nested object (the shape the API returns). */
export function pickSettings(config: Config): Record<string, unknown> {
  return {
    listen: config.listen,
    upstream: config.upstream,
    tls: {
      mode: config.tls.mode,
      minVersion: config.tls.minVersion,
      cert: config.tls.cert,
      key: config.tls.key,
      clientAuth: config.tls.clientAuth,
      clientCA: config.tls.clientCA,
      hostnames: [...config.tls.hostnames],
    },
    audit: { enabled: config.audit.enabled },
  };
}

/** Flattens a nested patch to dotted paths; throws a field-named config error for anything
 *  that is not an editable setting. */
export function flattenSettingsPatch(patch: unknown): Map<SettingsField, unknown> {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw configError('(root)', 'expected an object of settings');
  const out = new Map<SettingsField, unknown>();
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if ((SETTINGS_FIELDS as readonly string[]).includes(path)) out.set(path as SettingsField, v);
      else if (v !== null && typeof v === 'object' && !Array.isArray(v) && SETTINGS_FIELDS.some((f) => f.startsWith(path + '.'))) walk(v as Record<string, unknown>, path);
      else throw configError(path, 'cannot be changed from the admin API; edit warden.yaml');
    }
  };
  walk(patch as Record<string, unknown>, '');
  return out;
}

/** Fields whose value differs between two configs. */
export function changedSettings(before: Config, after: Config): SettingsField[] {
  return SETTINGS_FIELDS.filter((f) => JSON.stringify(getPath(before, f)) !== JSON.stringify(getPath(after, f)));
}

export interface WriteSettingsOptions {
  /** warden.yaml */
  file: string;
  /** Environment and flags still win over the file, exactly as at start-up. */
  env?: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
  /** Refuses (throws) a config the server could not start with; runs before anything is written. */
  check?: (config: Config) => void;
}

/** Validates `patch` on top of the file (and env/flags as at start-up), then writes the file.
 *  Returns the new effective config. Nothing is written when validation fails. */
export function writeSettings(opts: WriteSettingsOptions, patch: unknown): Config {
  const fields = flattenSettingsPatch(patch);
  const text = existsSync(opts.file) ? readFileSync(opts.file, 'utf8') : '';
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw configError(opts.file, 'is not valid YAML; fix it by hand first');
  for (const [path, value] of fields) doc.setIn(path.split('.'), value);
  const fileLayer = (doc.toJS() ?? {}) as Record<string, unknown>;
  const config = validateConfig(deepMerge(deepMerge(fileLayer, envLayer(opts.env ?? process.env)), flagLayer(opts.flags ?? {})));
  opts.check?.(config);
  const tmp = `${opts.file}.${process.pid}.tmp`;
  writeFileSync(tmp, doc.toString(), { mode: 0o600 });
  renameSync(tmp, opts.file);
  return config;
}
