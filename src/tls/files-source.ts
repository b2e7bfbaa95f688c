// Certificate source "files" with hot reload: the operator replaces tls.cert/tls.key (write in
// place or rename over) and new handshakes get the new pair within ~1 s; open connections keep
// the context they were made with. A broken or mismatched new pair is refused with a log line
// and the old pair stays in service.
import { loadCertFiles, type CertFileOptions } from './file-source.ts';
import { watchFiles } from './watch.ts';
import type { CertSourceHandle, ServingPair, SwapFn, TlsLog } from './types.ts';

export interface FilesSourceOptions extends CertFileOptions {
  log: TlsLog;
  swap: SwapFn;
  pollMs?: number;
}

export function createFilesSource(opts: FilesSourceOptions): CertSourceHandle {
  const first = loadCertFiles(opts); // start-up: a bad pair stops Warden with the message
  let pair: ServingPair = { certPem: first.certPem, keyPem: first.keyPem, source: 'files' };
  let lastError = '';
  const reload = (): void => {
    try {
      const next = loadCertFiles({ ...opts, now: new Date() });
      lastError = '';
      if (next.certPem === pair.certPem && next.keyPem === pair.keyPem) return;
      pair = { certPem: next.certPem, keyPem: next.keyPem, source: 'files' };
      opts.log('info', 'tls: certificate reloaded', { fingerprint256: next.leaf.fingerprint256, notAfter: new Date(next.leaf.validTo).toISOString() });
      opts.swap(pair);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      // Log each distinct problem once, not once per poll.
      if (msg !== lastError) opts.log('error', `tls: new certificate refused, keeping the current one: ${msg}`);
      lastError = msg;
    }
  };
  const watcher = watchFiles([opts.certPath, opts.keyPath], reload, opts.pollMs === undefined ? {} : { pollMs: opts.pollMs });
  return {
    get pair() {
      return pair;
    },
    close() {
      watcher.close();
    },
  };
}
