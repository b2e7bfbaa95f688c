// Ready-to-paste client snippets printed by `warden init` (DESIGN §7). They use the real port,
// the CA path and the key, so each one works as printed on this machine.
import type { Config } from '../../config/schema.ts';
import { parseListen } from '../../server/listen.ts';

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
