// Loading the configuration: defaults < warden.yaml < WARDEN_* environment < command-line flags.
// Each layer is a partial object; they are deep-merged and then validated once by zod, so an
// error names the field whichever layer it came from.
import { readFileSync, existsSync } from 'node:fs';
import { join, isAbsolute } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { configError } from '../errors.ts';

export const CONFIG_FILE = 'warden.yaml';

/** Fields whose value must never appear in an error message or log. */
const SECRET_FIELDS = new Set(['tls.keyPassphrase', 'store.url']);

type Layer = Record<string, unknown>;

/** Every leaf field of the config, with the kind of value its default has. */
function leaves(obj: Record<string, unknown>, prefix = ''): Array<{ path: string; kind: 'number' | 'boolean' | 'string' | 'array' }> {
  const out: Array<{ path: string; kind: 'number' | 'boolean' | 'string' | 'array' }> = [];
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (Array.isArray(v)) out.push({ path, kind: 'array' });
    else if (v !== null && typeof v === 'object') out.push(...leaves(v as Record<string, unknown>, path));
    else if (typeof v === 'number') out.push({ path, kind: 'number' });
    else if (typeof v === 'boolean') out.push({ path, kind: 'boolean' });
    else out.push({ path, kind: 'string' });
  }
  return out;
}

export const DEFAULTS: Config = configSchema.parse({});
const LEAVES = leaves(DEFAULTS as unknown as Record<string, unknown>);

/** `tls.clientAuth` → `WARDEN_TLS_CLIENT_AUTH`. */
export function envName(path: string): string {
  return 'WARDEN_' + path.split('.').map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function setPath(target: Layer, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null || Array.isArray(node[p])) node[p] = {};
    node = node[p] as Layer;
  }
  node[parts[parts.length - 1]!] = value;
}

/** Reads WARDEN_* variables into a partial config. Values keep their text; zod checks them. */
export function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = {};
  for (const { path, kind } of LEAVES) {
    const raw = env[envName(path)];
    if (raw === undefined) continue;
    let value: unknown = raw;
    if (kind === 'number') value = raw.trim() === '' || Number.isNaN(Number(raw)) ? raw : Number(raw);
    else if (kind === 'boolean') value = /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw;
    else if (kind === 'array') value = raw.split(',').map((s) => s.trim()).filter(Boolean);
    else if (raw === '' || raw === 'null') value = null;
    setPath(layer, path, value);
  }
  return layer;
}

/** Flags as the CLI gives them, mapped onto config paths. */
export interface ConfigFlags {
  listen?: string;
  upstream?: string;
  tlsMode?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientAuth?: string;
  minTls?: string;
  hostname?: string[];
}

export function flagLayer(flags: ConfigFlags): Layer {
  const layer: Layer = {};
  const map: Array<[keyof ConfigFlags, string]> = [
    ['listen', 'listen'],
    ['upstream', 'upstream'],
    ['tlsMode', 'tls.mode'],
    ['tlsCert', 'tls.cert'],
    ['tlsKey', 'tls.key'],
    ['clientAuth', 'tls.clientAuth'],
    ['minTls', 'tls.minVersion'],
  ];
  for (const [flag, path] of map) if (flags[flag] !== undefined) setPath(layer, path, flags[flag]);
  if (flags.hostname && flags.hostname.length > 0) setPath(layer, 'tls.hostnames', flags.hostname);
  return layer;
}

function isPlainObject(v: unknown): v is Layer {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Layer, v) : v;
  }
  return out;
}

export function readConfigFile(file: string): Layer {
  if (!existsSync(file)) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw configError(file, `is not valid YAML${where}`, err);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw configError(file, 'must be a YAML mapping of settings');
  return doc;
}

function describeValue(path: string, input: unknown): string {
  if (SECRET_FIELDS.has(path)) return '(hidden)';
  const text = JSON.stringify(input);
  return text === undefined ? 'undefined' : text.length > 80 ? text.slice(0, 77) + '...' : text;
}

function valueAt(obj: unknown, path: PropertyKey[]): unknown {
  let node = obj;
  for (const p of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[p];
  }
  return node;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${path}: ` : '';
    return `${where}unknown setting ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  const value = describeValue(path, valueAt(input, issue.path));
  let allowed = issue.message;
  if (issue.code === 'invalid_value' && 'values' in issue) {
    allowed = `allowed: ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    // YAML reads `minVersion: 1.3` as the number 1.3: say that the text needs quotes.
    const raw = valueAt(input, issue.path);
    if (typeof raw === 'number' && issue.values.includes(String(raw))) {
      allowed += ` (YAML reads an unquoted ${raw} as a number: quote it, ${issue.path[issue.path.length - 1] as string}: "${raw}")`;
    }
  }
  return `${path}: got ${value}; ${allowed}`;
}

/** Validates a merged layer; throws a config error naming every bad field. */
export function validateConfig(input: Layer): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return Object.freeze(result.data) as Config;
  const lines = result.error.issues.map((i) => describeIssue(i, input));
  const first = result.error.issues[0];
  throw configError(first ? first.path.join('.') || '(root)' : '(root)', lines.length === 1 ? lines[0]!.replace(/^[^:]+: /, '') : '\n  ' + lines.join('\n  '));
}

export interface LoadOptions {
  dataDir: string;
  /** Explicit --config file; default <dataDir>/warden.yaml. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
}

export function configPath(opts: { dataDir: string; configFile?: string }): string {
  return opts.configFile ?? join(opts.dataDir, CONFIG_FILE);
}

export function loadConfig(opts: LoadOptions): Config {
  const file = configPath(opts);
  const merged = deepMerge(deepMerge(readConfigFile(file), envLayer(opts.env ?? process.env)), flagLayer(opts.flags ?? {}));
  return validateConfig(merged);
}

/** A path from the config, relative to the data dir unless absolute. */
export function resolveDataPath(dataDir: string, p: string): string {
  return isAbsolute(p) ? p : join(dataDir, p);
}
