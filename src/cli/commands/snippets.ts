// Ready-to-paste client snippets printed by `warden init` (docs/design.md §7). They use the real port,
// the CA path and the key, so each one works as printed on this machine.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Config } from '../../config/schema.ts';
import { resolveDataPath } from '../../config/load.ts';
import { parseListen } from '../../server/listen.ts';
import { certSans, splitPemCerts } from '../../tls/x509-util.ts';

/** Where the snippets point: a name on the served certificate, and the CA file that vouches for it. */
export interface SnippetTarget {
  host: string;
  caPath: string | null;
  /** Said above the snippets when Warden cannot tell the CA of the operator's certificate. */
  note: string | null;
}

/**
 * Local CA: localhost and the local CA. Your own certificate (tls.mode files): the first name
 * on it (localhost may not be), and --cacert with the certificate file itself when the file
 * carries a self-signed root (a private CA's chain, or a self-signed certificate); none when
 * its issuer is a public root this Node trusts.
 */
export function snippetTarget(config: Config, dataDir: string, localCaPath: string | null): SnippetTarget {
  if (config.tls.mode === 'local' || config.tls.mode === 'off') return { host: 'localhost', caPath: config.tls.mode === 'off' ? null : localCaPath, note: null };
  if (config.tls.mode !== 'files' || !config.tls.cert) {
    const domain = config.tls.acme.domains[0];
    return { host: domain ?? 'localhost', caPath: null, note: null };
  }
  const file = resolveDataPath(dataDir, config.tls.cert);
  let certs: X509Certificate[];
  try {
    certs = splitPemCerts(readFileSync(file, 'utf8')).map((p) => new X509Certificate(p));
  } catch {
    return { host: 'localhost', caPath: null, note: `(could not read ${file}: use a name on it, and --cacert with its CA, in the commands below)` };
  }
  const leaf = certs[0];
  const names = leaf ? certSans(leaf.toString()) : [];
  const name = names.find((n) => !n.startsWith('*.')) ?? 'localhost';
  const host = name.includes(':') ? `[${name}]` : name;
  const selfSigned = certs.some((c) => c.checkIssued(c) && c.verify(c.publicKey));
  if (selfSigned) return { host, caPath: file, note: null };
  const top = certs[certs.length - 1];
  const isPublic = top !== undefined && rootCertificates.some((pem) => {
    const root = new X509Certificate(pem);
    return top.checkIssued(root) && top.verify(root.publicKey);
  });
  if (isPublic) return { host, caPath: null, note: null };
  return { host, caPath: null, note: `(${file} does not include the CA that issued it: add --cacert with that CA's certificate to the commands below)` };
}

export function clientSnippets(o: { config: Config; key: string; caPath: string | null; host: string }): string {
  const { port } = parseListen(o.config.listen);
  const scheme = o.config.tls.mode === 'off' ? 'http' : 'https';
  const base = `${scheme}://${o.host}:${port}`;
  const ca = o.caPath ? JSON.stringify(o.caPath) : null;
  const curlCa = ca ? ` --cacert ${ca}` : '';
  const lines = [
    `Admin web UI (sign in with an admin key): ${base}/_warden/`,
    '',
    'Try it:',
    `  curl${curlCa} -H "Authorization: Bearer ${o.key}" ${base}/api/tags`,
    '',
    'ollama CLI (register its key first: warden keys create --name laptop --ollama-pubkey ~/.ollama/id_ed25519.pub):',
    `  OLLAMA_HOST=${base} OLLAMA_AUTH=1${ca ? ` SSL_CERT_FILE=${ca}` : ''} ollama run llama3.2`,
    '',
    'ollama-js:',
    `  ${ca ? `NODE_EXTRA_CA_CERTS=${ca} ` : ''}node --input-type=module -e 'import {Ollama} from "ollama"; console.log(await new Ollama({host:"${base}",headers:{Authorization:"Bearer ${o.key}"}}).list())'`,
    '',
    'ollama-python / httpx:',
    `  python3 -c 'import ollama; print(ollama.Client(host="${base}", headers={"Authorization":"Bearer ${o.key}"}${ca ? `, verify=${ca}` : ''}).list())'`,
    '',
    'OpenAI SDK (base URL):',
    `  ${base}/v1   with api_key="${o.key}"${ca ? `   (trust ${o.caPath}: SSL_CERT_FILE / NODE_EXTRA_CA_CERTS)` : ''}`,
  ];
  return lines.join('\n');
}
