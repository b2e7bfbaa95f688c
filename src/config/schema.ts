// The configuration contract (docs/design.md §1). Every field: purpose, default, and — where a value
// weakens security — a warning in capitals. zod validates it once at start-up; the rest of the
// program receives a fully-defaulted, typed, frozen object and never re-checks.
import { z } from 'zod';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[0-9.]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 0.0.0.0:11443 or [::1]:11443')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 0 && port <= 65535;
  }, 'port must be 0-65535');

const httpUrl = z
  .string()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && !u.search && !u.username;
    } catch {
      return false;
    }
  }, 'expected an http(s) URL without path or credentials, e.g. http://127.0.0.1:11434');

const positiveInt = z.number().int().positive();

/** policy.registries entry allowing every registry host. */
export const ANY_REGISTRY = '*';
/** Ollama's own registry, and Hugging Face (`ollama pull hf.co/user/repo`; Hugging Face serves
 *  the same registry API under huggingface.co). */
export const DEFAULT_REGISTRIES: readonly string[] = Object.freeze(['registry.ollama.ai', 'hf.co', 'huggingface.co']);
/** A registry host as it stands in a model name (types/model isValidPart for a host: first an
 *  ASCII letter, digit or `_`, then those and `.` `-`), with an optional `:PORT`. Ollama allows
 *  more colons in a host; an entry may not, so every entry means one server. Compared in lower
 *  case, as Ollama compares hosts (policy/registries.ts). */
const registryEntry = z
  .string()
  .superRefine((s, ctx) => {
    if (s === ANY_REGISTRY) return;
    const m = /^([A-Za-z0-9_][A-Za-z0-9_.-]{0,339})(?::(\d{1,5}))?$/.exec(s);
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(s.slice(0, 80))} is not a registry host: write it as it appears in a model name, HOST or HOST:PORT (e.g. registry.example.com:5000), no scheme or path; "*" allows any`,
      });
    } else if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)}: the port must be 1-65535` });
    }
  })
  .transform((s) => s.toLowerCase());

export const tlsAcmeSchema = z.strictObject({
  /** ACME directory URL. Default: Let's Encrypt production. */
  directory: z.string().url().default('https://acme-v02.api.letsencrypt.org/directory'),
  /** Contact e-mail for the ACME account. Default: none. */
  email: z.string().email().nullable().default(null),
  /** Names to request a certificate for. Required in mode acme. */
  domains: z.array(z.string().min(1)).default([]),
  /** http-01 (needs port httpPort reachable) or tls-alpn-01 (on the main listener). */
  challenge: z.enum(['http-01', 'tls-alpn-01']).default('http-01'),
  /** Port for the HTTP-01 challenge listener. Default 80. */
  httpPort: z.number().int().min(0).max(65535).default(80),
  /** Extra CA (PEM path) to trust for the ACME server itself (tests: Pebble). */
  caBundle: z.string().nullable().default(null),
});

export const tlsSchema = z.strictObject({
  /** local: Warden's own CA (default). files: your cert/key. acme: Let's Encrypt or any RFC 8555 CA.
   *  off: NO TLS — only allowed together with --insecure-http. */
  mode: z.enum(['local', 'files', 'acme', 'off']).default('local'),
  /** Lowest TLS version. Default "1.3". "1.2" widens the attack surface (still AEAD + ECDHE only). */
  minVersion: z.enum(['1.3', '1.2']).default('1.3'),
  /** Extra DNS names / IPs for the local-CA server certificate. */
  hostnames: z.array(z.string().min(1)).default([]),
  /** mode files: PEM certificate (chain allowed). */
  cert: z.string().nullable().default(null),
  /** mode files: PEM private key. */
  key: z.string().nullable().default(null),
  /** Passphrase for an encrypted key. Prefer WARDEN_TLS_KEY_PASSPHRASE over writing it here. */
  keyPassphrase: z.string().nullable().default(null),
  /** Client certificates: off (default) | optional | require. */
  clientAuth: z.enum(['off', 'optional', 'require']).default('off'),
  /** PEM CA for client certificates. Default: Warden's local CA. */
  clientCA: z.string().nullable().default(null),
  acme: tlsAcmeSchema.default(() => tlsAcmeSchema.parse({})),
});

export const storeSchema = z.strictObject({
  /** sqlite:PATH (relative to the data dir) or postgres://user@host/db. */
  url: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'expected sqlite:FILE or postgres://user@host/db')
    .default('sqlite:warden.db'),
  /** Fail closed: when the store has not confirmed this instance's view of the keys for this
   *  long, requests get 503 instead of being checked against a cache that may still hold a
   *  revoked key. Default 10. Higher rides out longer store outages but lets a revocation made
   *  during a network split be ignored for longer. */
  maxStaleSeconds: z.number().int().min(1).max(3600).default(10),
});

export const auditSchema = z.strictObject({
  /** One JSON line per request. Default true. TURNING IT OFF LEAVES NO RECORD OF ABUSE. */
  enabled: z.boolean().default(true),
  /** Audit file, relative to the data dir. */
  file: z.string().min(1).default('audit/audit.log'),
  /** Rotate the file when it reaches this size. Default 100 MiB. */
  maxBytes: positiveInt.default(104857600),
  /** How many rotated files to keep. Default 5. */
  keep: z.number().int().min(0).default(5),
  /** Days of audit events kept in the store for the UI (the file keeps its own rotation). Default 30. */
  storeDays: positiveInt.default(30),
});

export const policySchema = z.strictObject({
  /** Allow /api/me, /api/signout, /api/user/keys, /api/experimental, /debug and *:cloud models.
   *  Default false. THESE SPEND THE OWNER'S OLLAMA.COM ACCOUNT. */
  allowAccountRoutes: z.boolean().default(false),
  /** Allow `insecure: true` on /api/pull and /api/push. Default false. ALLOWS PLAIN-HTTP REGISTRIES. */
  allowInsecureRegistries: z.boolean().default(false),
  /** Allow built-in server tools (`web_search…`) on /v1/messages and /v1/responses. Default false.
   *  OLLAMA THEN SEARCHES THE WEB THROUGH OLLAMA.COM WITH THE OWNER'S ACCOUNT. */
  allowServerTools: z.boolean().default(false),
  /** Allow `remote_host` on /api/create. Default false. A REMOTE MODEL FORWARDS EVERY CHAT WITH IT
   *  TO THAT HOST (ollama.com or any other), for every key that may use the model. */
  allowRemoteModels: z.boolean().default(false),
  /** Registry hosts (HOST or HOST:PORT, any letter case) that /api/pull, /api/push and
   *  /api/create's `from` may make Ollama connect to. A model name naming any other host
   *  (`10.0.0.5:8080/ns/m`) is refused 403. Default: Ollama's registry and Hugging Face. ["*"]
   *  ALLOWS ANY HOST: A models:manage KEY CAN THEN MAKE OLLAMA CONNECT INTO YOUR NETWORK
   *  (169.254.169.254, internal services) AND PUSH YOUR MODELS ANYWHERE. */
  registries: z
    .array(registryEntry)
    .default(() => [...DEFAULT_REGISTRIES]),
});

export const limitsSchema = z.strictObject({
  /** Largest JSON request body (413 above it). It is read whole and parsed before it is checked,
   *  costing about three times its size in memory and a JSON parse of it in CPU; the total of all
   *  bodies in flight is bounded by bodyMemoryBytes. Default 64 MiB: a vision chat carries its
   *  images base64-encoded (+33 %), so three 9 MiB photos are ~36 MiB, and Ollama itself sets no limit. */
  maxBodyBytes: positiveInt.default(67108864),
  /** Memory all JSON request bodies in flight may take together (each is read whole before it
   *  is inspected). A request whose body does not fit gets 503 + Retry-After. Default 256 MiB. */
  bodyMemoryBytes: positiveInt.default(268435456),
  /** Largest /api/blobs upload (streamed). Default 100 GiB. */
  maxBlobBytes: positiveInt.default(107374182400),
  /** Largest request header block. Default 16 KiB (answer 431 above it). */
  maxHeaderBytes: z.number().int().min(1024).max(1048576).default(16384),
  /** Most header lines in one request. Default 100 (answer 431 above it). Node would otherwise keep
   *  the first 2000 and silently drop the rest, so a header past that point escapes every check. */
  maxHeaders: z.number().int().min(16).max(2000).default(100),
  /** Most open connections from one client address. Default 64. */
  maxConnectionsPerAddress: positiveInt.default(64),
  /** Seconds a client may take to send its headers. Default 10. */
  headersTimeoutSeconds: positiveInt.default(10),
  /** Seconds a client may take to send its whole body (blobs excepted). Default 60. */
  requestTimeoutSeconds: positiveInt.default(60),
  /** Seconds a client may leave an answer unread (its TCP window shut) before it is cut off:
   *  the slow-read attack holds a stream, and the model behind it, for as long as it likes. Default 120. */
  slowReadSeconds: positiveInt.default(120),
  /** With more than one upstream: seconds a streamed generation may wait for Ollama's first answer byte (model loading
   *  included) before the upstream counts as hung and the request goes to another one that has
   *  the model (or gets 504). Non-streamed answers are exempt: Ollama sends them only when done. Default 300. */
  upstreamFirstByteSeconds: positiveInt.default(300),
  /** Seconds an idle keep-alive connection stays open. Default 30. */
  keepAliveTimeoutSeconds: positiveInt.default(30),
  /** Seconds a connection may go silent while its request is still arriving (a stalled blob
   *  upload). Never applies once the request is in and Warden waits for Ollama. Default 600. */
  idleTimeoutSeconds: positiveInt.default(600),
  /** Seconds Warden waits for Ollama to start answering (its status line); past it the client
   *  gets 504 naming this setting. Default 0: no limit, as Ollama has none (a big model on a
   *  modest GPU may take many minutes to load and think before its first byte). */
  answerStartSeconds: z.number().int().min(0).default(0),
  /** Seconds Ollama may go silent inside an answer; past it the answer is cut and ends with an
   *  error record naming this setting. Default 0: no limit. */
  answerIdleSeconds: z.number().int().min(0).default(0),
}).refine((l) => l.bodyMemoryBytes >= l.maxBodyBytes, {
  // a smaller budget could never hold the largest allowed body: every such request would get 503
  message: 'must be at least limits.maxBodyBytes',
  path: ['bodyMemoryBytes'],
});

export const securitySchema = z.strictObject({
  /** Failed authentications from one address within windowSeconds before it is locked out. */
  lockoutFailures: positiveInt.default(20),
  lockoutWindowSeconds: positiveInt.default(60),
  /** How long a locked-out address gets 429. */
  lockoutSeconds: positiveInt.default(300),
  /** Milliseconds each 429 to a locked-out address is held back (a tarpit): a flooder waiting on
   *  its answers gets at most one per connection per this interval. 0 answers at once. Default 1000. */
  lockoutTarpitMs: z.number().int().min(0).max(60000).default(1000),
  /** 429s per second a locked-out address gets at once before the tarpit holds them: a client
   *  retrying now and then is answered promptly, only a flood waits. Default 100. */
  lockoutTarpitBurst: positiveInt.default(100),
  /** Failed authentications per second from all addresses together answered at once (the
   *  server-wide brake: a flood with a new address per attempt never reaches the per-address
   *  lockout). Past it each further failure is held lockoutTarpitMs before its 401. Requests
   *  without any credentials have a burst of this size of their own. Default 100. */
  floodTarpitBurst: positiveInt.max(1_000_000).default(100),
  /** Addresses of reverse proxies whose X-Forwarded-For is believed. Default none. */
  trustedProxies: z.array(z.string().min(1)).default([]),
});

/** Ollama's default allowed origins (envconfig.AllowedOrigins) plus the browser-extension schemes
 *  gin-contrib/cors allows with AllowBrowserExtensions, as Ollama runs it. */
export const DEFAULT_CORS_ORIGINS: readonly string[] = [
  ...['localhost', '127.0.0.1', '0.0.0.0'].flatMap((h) => [`http://${h}`, `https://${h}`, `http://${h}:*`, `https://${h}:*`]),
  'app://*',
  'file://*',
  'tauri://*',
  'vscode-webview://*',
  'vscode-file://*',
  'chrome-extension://*',
  'moz-extension://*',
  'safari-extension://*',
  'safari-web-extension://*',
  'ms-browser-extension://*',
];

/** An origin as a browser sends it (scheme://host[:port], no path or trailing slash), `*` wildcards allowed, or a lone `*`. */
const corsOrigin = z
  .string()
  .trim()
  .regex(/^(\*|[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*)$/i, 'expected an origin: scheme://host[:port] with optional * wildcards, e.g. "https://app.example.com" or "http://localhost:*" (no path, no trailing slash)');

export const corsSchema = z.strictObject({
  /** Origins whose pages may call Warden from a browser (preflights answered by Warden, never
   *  with credentials). Default: Ollama's (localhost/127.0.0.1/0.0.0.0 on any port, app://,
   *  file://, tauri://, vscode-webview://, browser extensions). `*` allows every origin. */
  origins: z.array(corsOrigin).default(() => [...DEFAULT_CORS_ORIGINS]),
});

/** A whole number from YAML, or from the environment (where every value arrives as text). */
const capInt = z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), positiveInt.nullable()).default(null);

export const capsSchema = z.strictObject({
  /** What a request over a cap gets: refuse (403, nothing reaches Ollama; default) or clamp
   *  (the body is rewritten with the cap and forwarded). */
  mode: z.enum(['refuse', 'clamp']).default('refuse'),
  /** Largest options.num_ctx (context window; its KV cache is allocated in GPU memory). Default null: no cap. */
  numCtx: capInt,
  /** Largest options.num_predict / max_tokens / max_output_tokens; also filled in when a request names none
   *  (Ollama's default is unlimited). Default null: no cap. */
  numPredict: capInt,
  /** Longest keep_alive, in seconds or as a duration like "30m"; -1 ("forever") counts as over it.
   *  Default null: no cap. */
  keepAlive: z
    .preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.union([positiveInt, z.string().regex(/^(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+$/, 'expected seconds or a duration like "30m"')]).nullable())
    .default(null),
});

export const serverSchema = z.strictObject({
  /** On SIGTERM/SIGINT, how long streams in flight get to finish before their connections are
   *  closed. Default 5. A second signal stops at once. */
  shutdownGraceSeconds: z.number().int().min(0).max(3600).default(5),
});

export const configSchema = z.strictObject({
  /** Listener address. Default 0.0.0.0:11443. */
  listen: hostPort.default('0.0.0.0:11443'),
  /** Ollama's address. Default http://127.0.0.1:11434. */
  upstream: httpUrl.default('http://127.0.0.1:11434'),
  /** Several Ollama servers (health-checked, least in-flight first). Overrides `upstream`. */
  upstreams: z.array(httpUrl).default([]),
  tls: tlsSchema.default(() => tlsSchema.parse({})),
  store: storeSchema.default(() => storeSchema.parse({})),
  audit: auditSchema.default(() => auditSchema.parse({})),
  policy: policySchema.default(() => policySchema.parse({})),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  security: securitySchema.default(() => securitySchema.parse({})),
  caps: capsSchema.default(() => capsSchema.parse({})),
  cors: corsSchema.default(() => corsSchema.parse({})),
  server: serverSchema.default(() => serverSchema.parse({})),
});

export type Config = z.infer<typeof configSchema>;
export type TlsConfig = Config['tls'];

/** Run-time switches that are never written to a file (they only come from flags). */
export interface RuntimeFlags {
  /** --insecure-http: serve plain HTTP (loopback only unless exposedOk). */
  insecureHttp: boolean;
  /** --i-know-this-is-exposed */
  exposedOk: boolean;
}
