// The floor for any Node.js proxy: a plain `node:https` server forwarding with an undici pool,
// configured like nginx and Caddy in this benchmark (TLS 1.3 only with Warden's certificate, one
// bearer key checked on every request, the key stripped and Host rewritten, no buffering, upstream
// keep-alive, an access-log line per request) and doing nothing else: no key store, no policy,
// no audit database, no token counting. The benchmark issue quotes such a proxy at ≈127 µs per
// small request and ≈220 µs per 50-line stream; measuring it in the same run as Warden shows how
// much of Warden's cost is Warden and how much is Node's TLS and HTTP stack.
//
//   node bench/plain-node.ts CERT KEY UPSTREAM_PORT LOG_FILE    (the key in BENCH_PROXY_AUTH)
// Prints one JSON line {"port":N} when it listens (on [::], so 127.0.0.1 and ::1 both reach it).
import { timingSafeEqual } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';

const [certFile, keyFile, upstreamPort, logFile] = process.argv.slice(2);
if (!certFile || !keyFile || !upstreamPort || !logFile) throw new Error('usage: plain-node.ts CERT KEY UPSTREAM_PORT LOG_FILE');
const expected = Buffer.from(process.env.BENCH_PROXY_AUTH ?? '');
if (expected.length === 0) throw new Error('BENCH_PROXY_AUTH is not set');
const upstreamHost = `127.0.0.1:${upstreamPort}`;
const pool = new Pool(`http://${upstreamHost}`, { connections: 1024, keepAliveTimeout: 90_000 });
const log = createWriteStream(logFile, { flags: 'a' });
const UNAUTHORIZED = Buffer.from('{"error":"invalid API key"}');
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'];

function authorized(value: string | undefined): boolean {
  if (value === undefined) return false;
  const got = Buffer.from(value);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function accessLog(method: string | undefined, url: string | undefined, status: number): void {
  log.write(`${JSON.stringify({ ts: Date.now(), method, url, status })}\n`);
}

const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.3' }, (req, res) => {
  if (!authorized(req.headers.authorization)) {
    res.writeHead(401, { 'content-type': 'application/json', 'content-length': UNAUTHORIZED.length });
    res.end(UNAUTHORIZED);
    accessLog(req.method, req.url, 401);
    return;
  }
  const headers: IncomingHttpHeaders = { ...req.headers, host: upstreamHost };
  delete headers.authorization;
  for (const h of HOP_BY_HOP) delete headers[h];
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.request({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : undefined }).then(
    (up) => {
      // the client left while Ollama was answering (wrk closes its connections when a run ends)
      if (res.destroyed) {
        up.body.dump().catch(() => undefined);
        return;
      }
      const out: OutgoingHttpHeaders = { ...up.headers };
      for (const h of HOP_BY_HOP) delete out[h];
      res.writeHead(up.statusCode, out);
      pipeline(up.body, res, () => accessLog(req.method, req.url, up.statusCode));
    },
    () => {
      if (res.destroyed) return;
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":"upstream unreachable"}');
      accessLog(req.method, req.url, 502);
    },
  );
});
server.keepAliveTimeout = 75_000;
server.listen(0, '::', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
const stop = (): void => {
  server.close();
  server.closeAllConnections();
  void pool.close().finally(() => log.end(() => process.exit(0)));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
