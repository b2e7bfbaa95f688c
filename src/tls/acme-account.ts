// The ACME account: its private key (tls/acme/account-key.pem, 0600, made on first use) and the
// account URL the directory gave it (tls/acme/account.json), so later orders skip registration.
import * as acme from 'acme-client';
import { assertPrivateFile, fileExists, readFileOrNull, readTextFile, writeFileAtomic } from './files.ts';

export async function loadAccountKey(path: string): Promise<string> {
  if (fileExists(path)) {
    assertPrivateFile(path, 'ACME account key');
    return readTextFile(path, 'ACME account key');
  }
  const key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  writeFileAtomic(path, key, 0o600);
  return key;
}

/** The account URL registered earlier with this directory, if any. */
export function readAccountUrl(path: string, directory: string): string | null {
  try {
    const a = JSON.parse(readFileOrNull(path) ?? 'null') as { directory?: string; url?: string } | null;
    return a && a.directory === directory && typeof a.url === 'string' ? a.url : null;
  } catch {
    return null;
  }
}

export function saveAccountUrl(path: string, directory: string, url: string): void {
  writeFileAtomic(path, JSON.stringify({ directory, url }) + '\n', 0o600);
}
