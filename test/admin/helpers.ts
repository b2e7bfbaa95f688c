// TEST HELPERS for the admin API and UI tests: a real HTTPS listener (self-signed certificate
// made here), a real SQLite store and the real key service, with small stand-ins for the parts
// that belong to the server (status object, connection table, client-cert CA, a one-route proxy).
// Nothing here is used by Warden itself.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, fetch, type Response } from 'undici';
import { adminPlugin, type AdminPluginOptions } from '../../src/admin/plugin.ts';
import type { AdminDeps } from '../../src/admin/deps.ts';
import { changedSettings, writeSettings } from '../../src/admin/settings-file.ts';
import { openStore } from '../../src/store/index.ts';
import type { AuditEvent, ClientCertRecord, Store } from '../../src/store/types.ts';
import { KeyService } from '../../src/auth/key-service.ts';
import { parseKey, secretMatches } from '../../src/auth/key-format.ts';
import { keyState } from '../../src/store/types.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { describeCertificate } from '../../src/tls/cert-info.ts';
import { generateEcKey, randomSerial, SIGNING_ALG } from '../../src/tls/x509-util.ts';
import { x509 } from '../../src/tls/x509-lib.ts';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';

export interface SelfSigned {
  certPem: string;
  keyPem: string;
}

/** A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost. */
export async function selfSigned(commonName = 'warden-admin-test', days = 90): Promise<SelfSigned> {
  const { keys, keyPem } = await generateEcKey();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    keys,
    signingAlgorithm: SIGNING_ALG,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem };
}

export interface Harness {
  /** https://127.0.0.1:PORT */
  origin: string;
  dir: string;
  configFile: string;
  store: Store;
  deps: AdminDeps;
  keyService: KeyService;
  server: SelfSigned;
  /** Secret of a key with every scope. */
  adminKey: string;
  adminKeyId: string;
  /** Secret of a key with inference + models:read only. */
  userKey: string;
  /** The `warden status --json` stand-in the API returns. */
  statusObject: Record<string, unknown>;
  /** undici dispatcher that trusts the harness certificate. */
  dispatcher: Agent;
  /** This run's local control token (as in <data>/run/admin-token). */
  localToken: string;
  /** The Fastify app, for requests from another peer address (app.inject({ remoteAddress })). */
  app: FastifyInstance;
  fetch(path: string, init?: Parameters<typeof fetch>[1]): Promise<Response>;
  close(): Promise<void>;
}

function auditWriter(store: Store): (e: Partial<AuditEvent> & { kind: string }) => void {
  return (e) => {
    const full: AuditEvent = {
      time: new Date(), id: randomUUID(), keyId: null, keyName: null, authMethod: null, clientAddress: null, tlsVersion: null,
      clientCertSubject: null, method: null, path: null, model: null, status: null, durationMs: null, bytesIn: null,
      bytesOut: null, promptTokens: null, evalTokens: null, reason: null, actor: null, ...e,
    };
    void store.audit.insert([full]).catch(() => undefined);
  };
}

/** Starts the admin plugin on a real HTTPS listener over a real SQLite store in a temp dir. */
export async function startHarness(opts: AdminPluginOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-admin-'));
  const configFile = join(dir, 'warden.yaml');
  writeFileSync(configFile, '# test config\nlisten: 127.0.0.1:0\n', { mode: 0o600 });
  const store = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
  const audit = auditWriter(store);
  const keyService = new KeyService(store, audit);
  const server = await selfSigned();
  let config: Config = loadConfig({ dataDir: dir, configFile, env: {} });

  const admin = await keyService.create({ name: 'admin', scopes: ['admin', 'inference', 'models:read', 'models:manage', 'metrics'] }, 'cli');
  const user = await keyService.create({ name: 'user' }, 'cli');

  const statusObject: Record<string, unknown> = {
    source: 'server',
    version: '0.1.0',
    listen: config.listen,
    url: null,
    tls: { enabled: true, mode: 'local', minVersion: '1.3', clientAuth: 'off', certificate: describeCertificate(server.certPem, 'local-ca'), acme: null },
    upstream: { url: 'http://127.0.0.1:11434', reachable: true, version: '0.12.0', upstreams: [] },
    keys: { active: 2, revoked: 0, expired: 0 },
    connections: { live: 1 },
    startedAt: new Date().toISOString(),
  };

  let requests = 0;
  const localToken = randomBytes(32).toString('base64url');
  const deps: AdminDeps = {
    store,
    reload: async () => ({ reloaded: ['keys'] }),
    isLocalToken: (raw) => raw === localToken,
    async authenticateKey(raw) {
      const parsed = parseKey(raw);
      if (!parsed || !parsed.checksumOk) return null;
      const rec = await store.keys.get(parsed.id);
      if (!rec || keyState(rec) !== 'active') return null;
      const current = secretMatches(rec.secretHash, raw);
      const previous = rec.previousSecretHash !== null && rec.previousExpiresAt !== null && rec.previousExpiresAt.getTime() > Date.now() && secretMatches(rec.previousSecretHash, raw);
      return current || previous ? rec : null;
    },
    keys: {
      create: (input, actor) => keyService.create(input, actor),
      rotate: (id, grace, actor) => keyService.rotate(id, grace, actor),
      update: (id, patch, actor) => keyService.update(id, patch, actor),
      revoke: (id, actor) => keyService.revoke(id, actor),
      delete: (id, actor) => keyService.delete(id, actor),
    },
    certs: {
      // Stand-in CA: a self-signed client certificate; the "bundle" is the PEM pair (the real
      // server returns PKCS#12 from src/tls).
      async issue(name, days, actor) {
        const c = await selfSigned(name, days);
        const x = new X509Certificate(c.certPem);
        const record = await store.clientCerts.add({
          serial: x.serialNumber.toLowerCase(),
          name,
          fingerprint: x.fingerprint256.replace(/:/g, '').toLowerCase(),
          subject: `CN=${name}`,
          notBefore: new Date(x.validFrom),
          notAfter: new Date(x.validTo),
          createdAt: new Date(),
        });
        audit({ kind: 'cert.issue', actor, reason: `client certificate ${name}` });
        return { record, bundle: Buffer.from(c.certPem + c.keyPem), password: 'test-password', certPem: c.certPem, keyPem: c.keyPem };
      },
      list: () => store.clientCerts.list(),
      async revoke(nameOrSerial, actor): Promise<ClientCertRecord> {
        const rec = await store.clientCerts.find(nameOrSerial);
        if (!rec) throw Object.assign(new Error('stand-in: not found'), { statusCode: 404 });
        audit({ kind: 'cert.revoke', actor, reason: `client certificate ${rec.name}` });
        return store.clientCerts.revoke(rec.serial, 'revoked from the admin API');
      },
    },
    status: async () => statusObject,
    connections: () => [
      { address: '127.0.0.1:50000', keyId: admin.record.id, tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', clientCertSubject: null, openStreams: 0, since: new Date() },
    ],
    requestRate: () => {
      const now = Math.floor(Date.now() / 60_000) * 60_000;
      return Array.from({ length: 60 }, (_, i) => ({ minute: new Date(now - (59 - i) * 60_000).toISOString(), count: i === 59 ? requests : Math.round(5 + 4 * Math.sin(i / 5)) }));
    },
    settings: {
      get: () => config,
      async update(patch, actor) {
        const next = writeSettings({ file: configFile, env: {} }, patch);
        const changed = changedSettings(config, next);
        config = next;
        audit({ kind: 'config.change', actor, reason: `changed: ${changed.join(', ')}` });
        // Stand-in policy: only audit.enabled applies live.
        return { config: next, restartNeeded: changed.filter((f) => f !== 'audit.enabled') };
      },
    },
    audit,
  };

  const app: FastifyInstance = Fastify({ logger: false });
  await adminPlugin(app, deps, opts);
  await app.ready();

  const https: Server = createServer({ cert: server.certPem, key: server.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    if ((req.url ?? '').startsWith('/_warden/') || req.url === '/_warden') {
      app.routing(req, res);
      return;
    }
    // Stand-in proxy: one authenticated route, so a test can tell an accepted key from a refused one.
    requests++;
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    void (m ? deps.authenticateKey(m[1]!) : Promise.resolve(null)).then((rec) => {
      res.writeHead(rec ? 200 : 401, { 'content-type': 'application/json' });
      res.end(rec ? '{"models":[]}' : '{"error":"invalid API key"}');
    });
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const port = (https.address() as AddressInfo).port;
  const origin = `https://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connect: { ca: server.certPem } });

  return {
    origin,
    dir,
    configFile,
    store,
    deps,
    keyService,
    server,
    adminKey: admin.key,
    adminKeyId: admin.record.id,
    userKey: user.key,
    statusObject,
    dispatcher,
    localToken,
    app,
    fetch: (path, init) => fetch(origin + path, { ...init, dispatcher }),
    async close() {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      await app.close();
      await dispatcher.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs in over HTTP like the browser does; returns the cookie header and the CSRF token. */
export async function signIn(h: Harness, key = h.adminKey): Promise<{ cookie: string; csrf: string; res: Response }> {
  const res = await h.fetch('/_warden/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrfToken?: string };
  return { cookie: setCookie.split(';')[0] ?? '', csrf: body.csrfToken ?? '', res };
}
