// Writing warden.yaml (init, admin settings): atomically (temp file + rename, so an interrupted
// write leaves the old file intact) and mode 0600 (it may hold a key passphrase).
import { writeFileSync, renameSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export const CONFIG_HEADER = '# Ollama Warden configuration. Every setting, its default and its danger: see the README.\n';

export function writeConfigFile(file: string, data: Record<string, unknown>): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, CONFIG_HEADER + stringify(data), { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
