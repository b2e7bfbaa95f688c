// One ACME order (RFC 8555 §7.4): a new key and CSR for every domain, the challenge answered
// (HTTP-01 on a listener of its own for the order's length, TLS-ALPN-01 through the main
// listener's hooks), and the certificate and key written to tls/acme/.
import type { Agent } from 'node:https';
import * as acme from 'acme-client';
import type { Config } from '../config/schema.ts';
import { writeFileAtomic } from './files.ts';
import type { AlpnChallenges } from './acme-alpn.ts';
import { startHttp01Responder } from './acme-http01.ts';
import { readAccountUrl, saveAccountUrl } from './acme-account.ts';
import { probeDirectory } from './acme-transport.ts';
import type { ServingPair } from './types.ts';

export interface OrderContext {
  cfg: Config['tls']['acme'];
  accountKey: string;
  accountPath: string;
  certPath: string;
  keyPath: string;
  /** trust for a private ACME CA */
  agent: Agent | undefined;
  /** TLS-ALPN-01 challenges in flight, served by the main listener */
  alpn: AlpnChallenges;
  /** where the HTTP-01 responder binds: the main listener's address (the CA reaches both alike) */
  listenHost: string;
}

export async function orderCertificate(o: OrderContext): Promise<ServingPair> {
  const { cfg, alpn } = o;
  await probeDirectory(cfg.directory, o.agent);
  // A known account URL skips registration: re-registering an existing account makes
  // acme-client send an empty account update, which strict servers (Pebble) reject.
  const accountUrl = readAccountUrl(o.accountPath, cfg.directory);
  const client = new acme.Client({ directoryUrl: cfg.directory, accountKey: o.accountKey, ...(accountUrl ? { accountUrl } : {}), backoffAttempts: 3, backoffMin: 1000, backoffMax: 10_000 });
  const [key, csr] = await acme.crypto.createCsr({ commonName: cfg.domains[0]!, altNames: [...cfg.domains] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
  const http01 = cfg.challenge === 'http-01' ? await startHttp01Responder(cfg.httpPort, o.listenHost) : null;
  try {
    const certPem = await client.auto({
      csr,
      ...(cfg.email ? { email: cfg.email } : {}),
      termsOfServiceAgreed: true,
      challengePriority: [cfg.challenge],
      // No self-check: behind NAT or split DNS Warden cannot see itself as the CA does.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type === 'http-01') http01?.set(challenge.token, keyAuthorization);
        else if ((challenge.type as string) === 'tls-alpn-01') {
          const [k, c] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
          alpn.set(authz.identifier.value, c.toString(), k.toString());
        }
      },
      challengeRemoveFn: async (authz, challenge) => {
        if (challenge.type === 'http-01') http01?.delete(challenge.token);
        else alpn.delete(authz.identifier.value);
      },
    });
    if (!accountUrl) saveAccountUrl(o.accountPath, cfg.directory, client.getAccountUrl());
    const keyPem = key.toString();
    writeFileAtomic(o.keyPath, keyPem, 0o600);
    writeFileAtomic(o.certPath, certPem, 0o644);
    return { certPem, keyPem, source: 'acme' };
  } finally {
    await http01?.close();
  }
}
