// Writing warden.yaml (init, admin settings): atomically (temp file + rename, so an interrupted
// write leaves the old file intact) and mode 0600 (it may hold a key passphrase).
import { writeFileSync, renameSync, mkdirSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument, stringify } from 'yaml';

export const CONFIG_HEADER = '# Ollama Warden configuration. Every setting, its default and its danger: see the README.\n';

export function writeConfigFile(file: string, data: Record<string, unknown>): void {
  writeConfigText(file, CONFIG_HEADER + stringify(data));
}

/** Sets one setting (path like ['tls', 'hostnames']) in the file, keeping its comments and order. */
export function setConfigValue(file: string, path: readonly string[], value: unknown): void {
  const doc = parseDocument(existsSync(file) ? readFileSync(file, 'utf8') : CONFIG_HEADER);
  doc.setIn(path, value);
  writeConfigText(file, doc.toString());
}

function writeConfigText(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
