// One request's audit event and how it ends: `finish` writes its audit line and metrics exactly
// as the request leaves, `refuse` answers an error and finishes (its answer's end held until the
// line is in the file). One object per request holds
// what the steps of the path learn about it (address, lockout, client certificate), so
// the steps are plain functions and no closure is built per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { WardenError } from '../errors.ts';
import type { AuditInput } from '../audit/writer.ts';
import type { ConnectionIdentity } from '../auth/authenticate.ts';
import type { ConnState } from './connections.ts';
import type { GatewayDeps } from './gateway-deps.ts';
import { markRefused } from './strict.ts';
import { sendError } from '../api-errors.ts';
import { holdEnd } from './hold-end.ts';

/** Time to Ollama's first answer byte, and of the answer after it (metrics). */
export interface RequestTiming {
  firstByteMs: number | null;
  streamMs: number | null;
}
export const NO_TIMING: RequestTiming = { firstByteMs: null, streamMs: null };

/** A connection that presented no accepted client certificate (shared, never written). */
const NO_CERT: ConnectionIdentity = Object.freeze({ certFingerprint: null });

export class RequestContext {
  /** the code of the refusal this request ended with (metrics), null while none */
  refusedCode: string | null = null;
  /** An authentication refusal (401/429 before a key is known): a flood's kind, audited in summaries past a few per second. */
  authRefusal = false;
  /** set when the request was refused by policy: its rpm token is given back */
  refunded = false;
  /** the client's address for lockout and audit ('unknown' when none) */
  address = 'unknown';
  /** seconds the address stays locked out; 0 when it is not */
  lockedFor = 0;
  /** the accepted client certificate, if any */
  identity: ConnectionIdentity = NO_CERT;

  private readonly deps: GatewayDeps;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly socket: Socket;
  readonly tlsSocket: TLSSocket | null;
  readonly conn: ConnState | undefined;
  readonly started: number;
  readonly event: AuditInput;

  constructor(deps: GatewayDeps, req: IncomingMessage, res: ServerResponse, socket: Socket, tlsSocket: TLSSocket | null, conn: ConnState | undefined, started: number, event: AuditInput) {
    this.deps = deps;
    this.req = req;
    this.res = res;
    this.socket = socket;
    this.tlsSocket = tlsSocket;
    this.conn = conn;
    this.started = started;
    this.event = event;
  }

  /** extra null: counted in the metrics, no audit line (the UI's own polling, admin/request-audit.ts). */
  finish(status: number, extra: Partial<AuditInput> | null = {}, timing: RequestTiming = NO_TIMING): void {
    const { deps, event, refusedCode } = this;
    const durationMs = Math.round((performance.now() - this.started) * 10) / 10;
    if (extra) {
      const e = { ...event, ...extra, status, durationMs };
      if (this.authRefusal && (status === 401 || status === 429) && !e.keyId) deps.audit.writeRefusal(e);
      else deps.audit.writeBatched(e);
    }
    extra ??= {};
    if (!deps.metrics) return;
    const promptTokens = extra.promptTokens ?? null;
    const evalTokens = extra.evalTokens ?? null;
    deps.metrics.observe(this.req.method ?? '', status, durationMs, refusedCode, promptTokens, evalTokens);
    if (event.keyId) {
      deps.metrics.observeRequest({ model: event.model ?? null, keyId: event.keyId, refused: refusedCode !== null, promptTokens, evalTokens, ...timing });
    }
  }

  refuse(err: WardenError, close = false): void {
    this.refusedCode = err.code;
    if (close) markRefused(this.socket);
    this.finish(err.status, { reason: err.reason });
    // The audit lines of this event-loop turn, the refusal's own among them, are appended at its
    // end; the answer's end waits for them (hold-end.ts). A refusal counted into a summary
    // (writeRefusal) usually has none waiting and is answered at once.
    const { audit } = this.deps;
    if (!audit.waiting) return sendError(this.res, err, { close });
    const release = holdEnd(this.res);
    sendError(this.res, err, { close });
    audit.whenWritten(release);
  }

  /** Refused by policy or for want of an upstream: the key is not charged for it (a 403 costs
   *  the key nothing, as when limits were checked after authorisation). */
  refuseUncharged(err: WardenError): void {
    this.refunded = true;
    this.refuse(err);
  }
}
