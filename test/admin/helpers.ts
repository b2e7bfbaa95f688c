// TEST HELPERS for the admin API and UI tests: a real HTTPS listener (self-signed certificate
// made here), a real SQLite store, and the server's own admin dependencies (buildAdminDeps: key
// service and cache, local CA for client certificates, settings writer, audit log, connection
// table). Stand-ins only for what needs a whole gateway: the status object and a one-route proxy.
// Nothing here is used by Warden itself.
import { createLockout } from '../../src/auth/lockout.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, fetch, type Response } from 'undici';
import { adminPlugin, type AdminPluginOptions } from '../../src/admin/plugin.ts';
import type { AdminDeps } from '../../src/admin/deps.ts';
import { buildAdminDeps } from '../../src/server/admin-deps.ts';
import { ConnectionTracker } from '../../src/server/connections.ts';
import { RequestRate } from '../../src/server/request-rate.ts';
import type { StatusObject } from '../../src/server/status.ts';
import { KeyCache } from '../../src/auth/key-cache.ts';
import { AuditLog } from '../../src/audit/writer.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { KeyService } from '../../src/auth/key-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { describeCertificate } from '../../src/tls/cert-info.ts';
import { generateEcKey, randomSerial, SIGNING_ALG } from '../../src/tls/x509-util.ts';
import { x509 } from '../../src/tls/x509-lib.ts';
import { randomBytes } from 'node:crypto';

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

/** Starts the admin plugin on a real HTTPS listener over a real SQLite store in a temp dir. */
export async function startHarness(opts: AdminPluginOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-admin-'));
  const configFile = join(dir, 'warden.yaml');
  writeFileSync(configFile, '# test config\nlisten: 127.0.0.1:0\n', { mode: 0o600 });
  const store = await openStore({ url: 'sqlite:warden.db', dataDir: dir });
  const auditLog = new AuditLog({ enabled: true, file: join(dir, 'audit', 'audit.log'), maxBytes: 10_000_000, keep: 1, repo: store.audit, flushIntervalMs: 20 });
  const keyService = new KeyService(store, (e) => auditLog.write(e));
  const server = await selfSigned();
  const config: Config = loadConfig({ dataDir: dir, configFile, env: {} });

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

  const localToken = randomBytes(32).toString('base64url');
  const keys = new KeyCache(store, {});
  await keys.start();
  const connections = new ConnectionTracker(100);
  const rate = new RequestRate();
  const deps: AdminDeps = buildAdminDeps({
    config,
    configFile,
    dataDir: dir,
    store,
    keys,
    keyService,
    tls: null,
    connections,
    rate,
    status: async () => statusObject as unknown as StatusObject,
    audit: auditLog,
    localToken,
    lockout: createLockout({ failures: 20, windowSeconds: 60, lockoutSeconds: 300 }),
  });

  const app: FastifyInstance = Fastify({ logger: false });
  await adminPlugin(app, deps, opts);
  await app.ready();

  const https: Server = createServer({ cert: server.certPem, key: server.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    rate.hit();
    if ((req.url ?? '').startsWith('/_warden/') || req.url === '/_warden') {
      app.routing(req, res);
      return;
    }
    // Stand-in proxy: one authenticated route, so a test can tell an accepted key from a refused one.
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    void (m ? deps.authenticateKey(m[1]!) : Promise.resolve(null)).then((rec) => {
      res.writeHead(rec ? 200 : 401, { 'content-type': 'application/json' });
      res.end(rec ? '{"models":[]}' : '{"error":"invalid API key"}');
    });
  });
  https.on('secureConnection', (socket) => connections.secured(socket, null));
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
      await keys.stop();
      await auditLog.close();
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
