// Would the server start with this config? The checks start-up makes before it binds, run on a
// config the admin API is about to write, so a setting the server cannot start with (plain
// HTTP without --insecure-http, a missing or mismatched certificate, an unreadable client CA)
// is refused when it is set, not discovered at the next restart.
import { ErrorCode, isWardenError, configError } from '../errors.ts';
import type { Config, RuntimeFlags } from '../config/schema.ts';
import { resolveDataPath } from '../config/load.ts';
import { loadCertFiles } from '../tls/file-source.ts';
import { readFieldFile } from '../tls/files.ts';
import { ClientCertVerifier } from '../tls/client-verify.ts';
import { splitPemCerts } from '../tls/x509-util.ts';
import { checkListenSafety, parseListen } from './listen.ts';

/** A TLS check's failure as a config error on the field it is about (the error's own `field`,
 *  tls/files.ts tlsFieldError), for the form. */
function asFieldError(err: unknown, fallback: string): never {
  if (isWardenError(err) && err.code === ErrorCode.CONFIG_INVALID) throw err;
  if (isWardenError(err)) {
    const field = err.field ?? fallback;
    // a field's TLS message starts with the field ("tls.key /path: …"); configError adds it again
    throw configError(field, err.field !== undefined ? err.message.slice(field.length).trim() : err.message, err);
  }
  throw err;
}

export function checkStartable(config: Config, dataDir: string, flags: RuntimeFlags): void {
  checkListenSafety(config, parseListen(config.listen), flags);
  const tls = config.tls;
  if (tls.mode === 'files') {
    if (!tls.cert || !tls.key) throw configError('tls.cert', 'tls.mode "files" needs both tls.cert and tls.key');
    try {
      loadCertFiles({
        certPath: resolveDataPath(dataDir, tls.cert),
        keyPath: resolveDataPath(dataDir, tls.key),
        passphrase: tls.keyPassphrase ?? process.env.WARDEN_TLS_KEY_PASSPHRASE ?? null,
        hostnames: tls.hostnames,
      });
    } catch (err) {
      asFieldError(err, 'tls.cert');
    }
  }
  if (tls.mode !== 'off' && tls.clientAuth !== 'off' && tls.clientCA) {
    const path = resolveDataPath(dataDir, tls.clientCA);
    try {
      const pem = readFieldFile(path, 'tls.clientCA');
      if (splitPemCerts(pem).length === 0) throw configError('tls.clientCA', `${path} contains no PEM certificate`);
      new ClientCertVerifier(pem);
    } catch (err) {
      asFieldError(err, 'tls.clientCA');
    }
  }
}
