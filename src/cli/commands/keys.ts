// `warden keys …`: works on the store directly, so it works whether or not the server runs;
// a running server sees each change within 1 s (it polls the store's change generation).
import { readFileSync, existsSync } from 'node:fs';
import type { Command } from 'commander';
import { issuedKeyToJson, keyToJson, type KeyJson } from '../../admin/serialize.ts';
import type { IssuedKey, KeyInput } from '../../auth/key-service.ts';
import type { KeyRecord } from '../../store/types.ts';
import { notFound, usageError } from '../../errors.ts';
import { cliContext, openStoreSession, type CliContext, type GlobalOptions, type StoreSession } from '../context.ts';
import { parseDuration, parseExpiry, parsePositiveInt } from '../duration.ts';
import { printFields, printJson, printTable, say } from '../output.ts';

const collect = (v: string, prev: string[] = []): string[] => prev.concat(v.split(',').map((s) => s.trim()).filter(Boolean));

/**
 * `--model`: an empty value is refused. It is what an unset shell variable gives
 * (`--model "$MODEL"`), and taken as "no patterns" it would grant every model.
 */
const collectModels = (v: string, prev: string[] = []): string[] => {
  const patterns = collect(v);
  if (patterns.length === 0) {
    throw usageError(`--model: got ${JSON.stringify(v)}, an empty pattern (an unset shell variable?); name a model or glob such as 'llama3.*', or '*' for every model`);
  }
  return prev.concat(patterns);
};

interface KeyFlags {
  name?: string;
  scope?: string[];
  model?: string[];
  expires?: string;
  rpm?: string;
  tpm?: string;
  concurrency?: string;
  ollamaPubkey?: string[];
  bindCert?: string;
  maxCtx?: string;
  maxPredict?: string;
  maxKeepAlive?: string;
  json?: boolean;
}

/** `--ollama-pubkey` takes the key text or the path of a .pub file. */
function readPubkey(v: string): string {
  if (!v.startsWith('ssh-') && existsSync(v)) return readFileSync(v, 'utf8').trim();
  return v;
}

/** `--max-keep-alive`: seconds (`600`) or a duration (`30m`, `1h`), or off. */
function keepAliveFlag(v: string): number | null {
  if (v === 'off') return null;
  return /^\s*\d+\s*$/.test(v) ? parsePositiveInt(v, '--max-keep-alive') : parseDuration(v, '--max-keep-alive');
}

/** 1800 → "30m": how a keep-alive cap is shown to people (JSON keeps the seconds). */
function fmtSeconds(s: number): string {
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

function capsText(c: KeyJson['caps']): string {
  return `num_ctx ${c.numCtx ?? '-'}, num_predict ${c.numPredict ?? '-'}, keep_alive ${c.keepAlive === null ? '-' : fmtSeconds(c.keepAlive)}`;
}

/** For the list table: only the caps that are set, e.g. "ctx=2048,keep=30m", or "-". */
function shortCaps(c: KeyJson['caps']): string {
  const parts: string[] = [];
  if (c.numCtx !== null) parts.push(`ctx=${c.numCtx}`);
  if (c.numPredict !== null) parts.push(`predict=${c.numPredict}`);
  if (c.keepAlive !== null) parts.push(`keep=${fmtSeconds(c.keepAlive)}`);
  return parts.join(',') || '-';
}

async function keyInput(f: KeyFlags, session: StoreSession): Promise<Partial<KeyInput>> {
  const input: Partial<KeyInput> = {};
  if (f.name !== undefined) input.name = f.name;
  if (f.scope) input.scopes = f.scope;
  if (f.model) input.models = f.model;
  if (f.expires !== undefined) input.expiresAt = f.expires === 'never' ? null : parseExpiry(f.expires);
  if (f.rpm !== undefined) input.rpm = f.rpm === 'off' ? null : parsePositiveInt(f.rpm, '--rpm');
  if (f.tpm !== undefined) input.tpm = f.tpm === 'off' ? null : parsePositiveInt(f.tpm, '--tpm');
  if (f.concurrency !== undefined) input.concurrency = f.concurrency === 'off' ? null : parsePositiveInt(f.concurrency, '--concurrency');
  if (f.maxCtx !== undefined) input.capNumCtx = f.maxCtx === 'off' ? null : parsePositiveInt(f.maxCtx, '--max-ctx');
  if (f.maxPredict !== undefined) input.capNumPredict = f.maxPredict === 'off' ? null : parsePositiveInt(f.maxPredict, '--max-predict');
  if (f.maxKeepAlive !== undefined) input.capKeepAlive = keepAliveFlag(f.maxKeepAlive);
  if (f.ollamaPubkey) input.ollamaPubkeys = f.ollamaPubkey.map(readPubkey);
  if (f.bindCert !== undefined) {
    if (f.bindCert === 'none') input.certFingerprint = null;
    else {
      const cert = await session.store.clientCerts.find(f.bindCert);
      if (!cert) throw notFound(`client certificate ${JSON.stringify(f.bindCert)}`);
      input.certFingerprint = cert.fingerprint;
    }
  }
  return input;
}

function printKey(k: KeyJson, secret?: string): void {
  const fields: Array<[string, string]> = [
    ['id', k.id],
    ['name', k.name],
    ['state', k.state],
    ['scopes', k.scopes.join(', ')],
    ['models', k.models.length ? k.models.join(', ') : '(all)'],
    ['created', k.createdAt],
    ['last used', k.lastUsedAt ?? 'never'],
    ['expires', k.expiresAt ?? 'never'],
    ['limits', `rpm ${k.rpm ?? '-'}, tpm ${k.tpm ?? '-'}, concurrency ${k.concurrency ?? '-'}`],
    ['caps', capsText(k.caps)],
  ];
  if (k.certFingerprint) fields.push(['bound cert', k.certFingerprint]);
  if (k.ollamaPubkeys.length) fields.push(['ollama keys', k.ollamaPubkeys.map((p) => p.slice(0, 30) + '…').join(', ')]);
  if (k.graceUntil) fields.push(['old secret until', k.graceUntil]);
  printFields(fields);
  if (secret) process.stdout.write(`\nKey (shown once — store it now):\n\n  ${secret}\n\n`);
}

/** A key bound to a client certificate can only be used over mutual TLS: say so when it is off. */
function warnIfBindingUnusable(f: KeyFlags, ctx: CliContext): void {
  if (f.bindCert === undefined || f.bindCert === 'none' || ctx.config.tls.clientAuth !== 'off') return;
  process.stderr.write(
    `warden: warning: mutual TLS is off (tls.clientAuth: off), so no connection carries a client certificate and this key can never be used until it is on: set tls.clientAuth to optional or require in ${ctx.configFile} (or serve --client-auth optional)\n`,
  );
}

/** create/rotate: the only output that carries the secret. */
function showIssued(issued: IssuedKey, json: boolean | undefined): void {
  if (json) printJson(issuedKeyToJson(issued));
  else printKey(keyToJson(issued.record), issued.key);
}

function showKey(rec: KeyRecord, json: boolean | undefined): void {
  if (json) printJson(keyToJson(rec));
  else printKey(keyToJson(rec));
}

async function withSession<T>(g: GlobalOptions, fn: (s: StoreSession, ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = cliContext(g);
  const session = await openStoreSession(ctx);
  try {
    return await fn(session, ctx);
  } finally {
    await session.close();
  }
}

export function registerKeysCommand(program: Command, globals: () => GlobalOptions): void {
  const keys = program.command('keys').description('create, list, rotate and revoke API keys');

  const withKeyFlags = (c: Command): Command =>
    c
      .option('--scope <scope>', 'inference | models:read | models:manage | admin | metrics (repeatable)', collect)
      .option('--model <pattern>', "allowed model name or glob, e.g. 'llama3.*' (repeatable)", collectModels)
      .option('--expires <when>', 'a duration (30d) or a date (2027-01-31), or never')
      .option('--rpm <n>', 'requests per minute (or off)')
      .option('--tpm <n>', 'tokens per minute (or off)')
      .option('--concurrency <n>', 'concurrent requests (or off)')
      .option('--max-ctx <n>', 'largest options.num_ctx this key may ask for (or off); the server cap applies too')
      .option('--max-predict <n>', 'largest num_predict / max_tokens (or off); filled in when a request names none')
      .option('--max-keep-alive <dur>', 'longest keep_alive: seconds or a duration like 30m, 1h (or off)')
      .option('--ollama-pubkey <key>', 'ollama CLI public key text or .pub file (repeatable)', collect)
      .option('--bind-cert <name>', 'only accept this key over a connection with this client certificate');

  withKeyFlags(keys.command('create').description('create a key; the secret is shown once').requiredOption('--name <name>', 'a name for the key'))
    .option('--json', 'machine-readable output')
    .action(async (f: KeyFlags) =>
      withSession(globals(), async (s, ctx) => {
        const input = (await keyInput(f, s)) as KeyInput;
        const issued = await s.keys.create(input, 'cli');
        showIssued(issued, f.json);
        warnIfBindingUnusable(f, ctx);
      }),
    );

  keys
    .command('list')
    .description('list keys (never their secrets)')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) =>
      withSession(globals(), async (s) => {
        const list = (await s.store.keys.list()).map((r) => keyToJson(r));
        if (f.json) return printJson(list);
        if (list.length === 0) return void process.stdout.write('no keys\n');
        printTable([
          ['ID', 'NAME', 'STATE', 'SCOPES', 'MODELS', 'CAPS', 'LAST USED', 'EXPIRES'],
          ...list.map((k) => [k.id, k.name, k.state, k.scopes.join(','), k.models.join(',') || '*', shortCaps(k.caps), k.lastUsedAt ?? 'never', k.expiresAt ?? 'never']),
        ]);
      }),
    );

  keys
    .command('show <id>')
    .description('show one key')
    .option('--json', 'machine-readable output')
    .action(async (id: string, f: { json?: boolean }) =>
      withSession(globals(), async (s) => {
        const k = keyToJson(await s.keys.resolve(id));
        if (f.json) printJson(k);
        else printKey(k);
      }),
    );

  withKeyFlags(keys.command('update <id>').description('change scopes, models, limits, caps, expiry or bindings').option('--name <name>', 'rename'))
    .option('--json', 'machine-readable output')
    .action(async (id: string, f: KeyFlags) =>
      withSession(globals(), async (s, ctx) => {
        const rec = await s.keys.update(id, await keyInput(f, s), 'cli');
        showKey(rec, f.json);
        warnIfBindingUnusable(f, ctx);
      }),
    );

  keys
    .command('rotate <id>')
    .description('issue a new secret; the old one works until the grace period ends')
    .option('--grace <duration>', 'how long the old secret keeps working (e.g. 24h)', '0s')
    .option('--json', 'machine-readable output')
    .action(async (id: string, f: { grace: string; json?: boolean }) =>
      withSession(globals(), async (s) => {
        const grace = parseDuration(f.grace, '--grace');
        const issued = await s.keys.rotate(id, grace, 'cli');
        showIssued(issued, f.json);
      }),
    );

  keys
    .command('revoke <id>')
    .description('revoke a key at once (running servers refuse it within 1 s)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, f: { json?: boolean }) =>
      withSession(globals(), async (s) => {
        const rec = await s.keys.revoke(id, 'cli');
        if (f.json) printJson(keyToJson(rec));
        else say(`revoked ${rec.id} (${rec.name})`);
      }),
    );

  keys
    .command('delete <id>')
    .description('delete a key record')
    .action(async (id: string) =>
      withSession(globals(), async (s) => {
        const rec = await s.keys.resolve(id);
        await s.keys.delete(rec.id, 'cli');
        say(`deleted ${rec.id} (${rec.name})`);
      }),
    );
}
