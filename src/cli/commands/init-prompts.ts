// The interactive questions of `warden init` (only with a terminal and without --yes).
// Each answer defaults to the current value, so pressing Enter throughout gives the defaults.
import * as p from '@clack/prompts';
import type { Config } from '../../config/schema.ts';
import { validateConfig, deepMerge } from '../../config/load.ts';
import { usageError } from '../../errors.ts';

function check<T>(value: T): Exclude<T, symbol> {
  if (p.isCancel(value) || typeof value === 'symbol') throw usageError('init cancelled; nothing was written');
  return value as Exclude<T, symbol>;
}

/** Validates one field the way start-up will, so a typo is caught at the prompt. */
function fieldValidator(path: string[]): (v: string | undefined) => string | undefined {
  return (v) => {
    const layer: Record<string, unknown> = {};
    let node = layer;
    for (const k of path.slice(0, -1)) node = (node[k] = {}) as Record<string, unknown>;
    node[path[path.length - 1]!] = v ?? '';
    try {
      validateConfig(layer);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message.replace(/^config: /, '') : String(err);
    }
  };
}

export async function askInitSettings(current: Config): Promise<Record<string, unknown>> {
  p.intro('Ollama Warden setup');
  const listen = check(await p.text({ message: 'Listen address', initialValue: current.listen, validate: fieldValidator(['listen']) }));
  const upstream = check(await p.text({ message: 'Ollama address', initialValue: current.upstream, validate: fieldValidator(['upstream']) }));
  const mode = check(
    await p.select({
      message: 'TLS certificate',
      initialValue: current.tls.mode === 'off' ? 'local' : current.tls.mode,
      options: [
        { value: 'local', label: "Warden's own local CA (default)" },
        { value: 'files', label: 'My own certificate files' },
        { value: 'acme', label: "Let's Encrypt / ACME" },
      ],
    }),
  );
  const tls: Record<string, unknown> = { mode };
  if (mode === 'local') {
    const names: string = check(await p.text({ message: 'Extra hostnames or IPs for the certificate (comma-separated, optional)', initialValue: current.tls.hostnames.join(','), placeholder: 'gpu-box.lan' }));
    tls.hostnames = names.split(',').map((s) => s.trim()).filter(Boolean);
  } else if (mode === 'files') {
    tls.cert = check(await p.text({ message: 'Certificate file (PEM, chain allowed)', validate: (v) => (v ? undefined : 'required') }));
    tls.key = check(await p.text({ message: 'Private key file (PEM)', validate: (v) => (v ? undefined : 'required') }));
  } else {
    const domains: string = check(await p.text({ message: 'Domain names (comma-separated)', validate: (v) => (v ? undefined : 'required') }));
    const email = check(await p.text({ message: 'Contact e-mail for the ACME account (optional)' }));
    tls.acme = { domains: domains.split(',').map((s) => s.trim()).filter(Boolean), email: email || null };
  }
  tls.clientAuth = check(
    await p.select({
      message: 'Client certificates (mutual TLS)',
      initialValue: current.tls.clientAuth,
      options: [
        { value: 'off', label: 'off (API keys only)' },
        { value: 'optional', label: 'optional' },
        { value: 'require', label: 'require' },
      ],
    }),
  );
  const auditOn = check(await p.confirm({ message: 'Keep an audit log of every request?', initialValue: current.audit.enabled }));
  const settings: Record<string, unknown> = { listen, upstream, tls };
  if (!auditOn) settings.audit = { enabled: false };
  validateConfig(deepMerge(settings, {}));
  p.outro('Settings saved.');
  return settings;
}
