// Keys: create (secret shown once), edit scopes/models/limits/expiry, rotate with a grace
// period, revoke and delete. Validation is the server's: its field-named message appears
// under the field, in the same words as `warden keys create`.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type ClientCertJson, type KeyJson } from '../api.ts';
import { checkKeyForm, type KeyFormValues } from './key-checks.ts';
import { Badge, Banner, Confirm, Field, ListTable, Modal, SecretOnce, errorText, fieldError, fmtRelative, fmtTime, stateTone, useApiGet, useSend } from '../ui.tsx';

const SCOPES = [
  { id: 'inference', hint: 'chat, generate, embeddings' },
  { id: 'models:read', hint: 'list and show models' },
  { id: 'models:manage', hint: 'pull, push, create, delete models' },
  { id: 'admin', hint: 'this console and its API' },
  { id: 'metrics', hint: 'Prometheus metrics' },
];

/** The text fields (checked as typed: key-checks.ts), the scopes and the bound certificate. */
interface FormState extends KeyFormValues {
  scopes: string[];
  /** The bound client certificate's SHA-256 fingerprint, lower-case hex; '' = none. */
  cert: string;
}

/** The server's field names → the form's. */
const FORM_OF: Record<string, keyof FormState> = { name: 'name', model: 'models', expires: 'expires', rpm: 'rpm', tpm: 'tpm', concurrency: 'concurrency', 'max-ctx': 'maxCtx', 'max-predict': 'maxPredict', 'max-keep-alive': 'maxKeepAlive', 'ollama-pubkey': 'pubkeys', 'bind-cert': 'cert' };

/** AA:BB:… or aabb… → aabb…, as the key service stores a bound fingerprint. */
const normFp = (fp: string): string => fp.replace(/:/g, '').toLowerCase();

/** 1800 → "30m", as the keep-alive field accepts it back. */
function fmtSeconds(s: number): string {
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

const CAP_FIELDS = [
  ['maxCtx', 'numCtx'],
  ['maxPredict', 'numPredict'],
  ['maxKeepAlive', 'keepAlive'],
] as const;

function toForm(k: KeyJson | null): FormState {
  return {
    name: k?.name ?? '',
    scopes: k ? [...k.scopes] : ['inference', 'models:read'],
    models: k ? k.models.join(', ') : '',
    expires: k?.expiresAt ? k.expiresAt.slice(0, 10) : '',
    rpm: k?.rpm?.toString() ?? '',
    tpm: k?.tpm?.toString() ?? '',
    concurrency: k?.concurrency?.toString() ?? '',
    maxCtx: k?.caps.numCtx?.toString() ?? '',
    maxPredict: k?.caps.numPredict?.toString() ?? '',
    maxKeepAlive: k?.caps.keepAlive ? fmtSeconds(k.caps.keepAlive) : '',
    pubkeys: k ? k.ollamaPubkeys.join('\n') : '',
    cert: k?.certFingerprint ? normFp(k.certFingerprint) : '',
  };
}

function KeyForm({ initial, onSaved, onCancel }: { initial: KeyJson | null; onSaved: (k: KeyJson) => void; onCancel: () => void }) {
  const [f, setF] = useState<FormState>(toForm(initial));
  const { busy, err, setErr, send } = useSend();
  // Fields the user has typed in (or all, after a submit): their mistakes show while typing.
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [certs, setCerts] = useState<ClientCertJson[]>([]);
  useEffect(() => {
    void api<ClientCertJson[]>('GET', '/certs').then(setCerts, () => setCerts([]));
  }, []);
  const orig = toForm(initial);
  const set = (k: keyof FormState) => (e: Event) => {
    setF({ ...f, [k]: (e.target as HTMLInputElement).value });
    if (!touched.has(k)) setTouched(new Set(touched).add(k));
    // The server's message about this field is out of date once the field changes.
    if (err instanceof ApiError && err.field && FORM_OF[err.field] === k) setErr(null);
  };
  const local = checkKeyForm(f);
  /** The message under a field: what the form sees now, else what the server said last. */
  const fieldMsg = (field: string): string | undefined => {
    const form = FORM_OF[field];
    const mine = form && (submitted || touched.has(form)) ? local[field] : undefined;
    return mine ?? fieldError(err, field);
  };
  const toggleScope = (s: string) => setF({ ...f, scopes: f.scopes.includes(s) ? f.scopes.filter((x) => x !== s) : [...f.scopes, s] });

  const submit = async (e: Event) => {
    e.preventDefault();
    setSubmitted(true);
    if (Object.keys(checkKeyForm(f)).length > 0) return;
    const body: Record<string, unknown> = {};
    const changed = (k: keyof FormState) => !initial || JSON.stringify(f[k]) !== JSON.stringify(orig[k]);
    if (changed('name')) body.name = f.name;
    if (changed('scopes')) body.scopes = f.scopes;
    if (changed('models')) body.models = f.models;
    if (changed('expires')) body.expires = f.expires.trim() === '' ? null : f.expires.trim();
    for (const k of ['rpm', 'tpm', 'concurrency'] as const) if (changed(k)) body[k] = f[k].trim() === '' ? null : f[k].trim();
    const caps: Record<string, string | null> = {};
    for (const [form, api] of CAP_FIELDS) if (changed(form)) caps[api] = f[form].trim() === '' ? null : f[form].trim();
    if (Object.keys(caps).length > 0) body.caps = caps;
    if (changed('pubkeys')) body.ollamaPubkeys = f.pubkeys;
    if (changed('cert')) body.certFingerprint = f.cert === '' ? null : f.cert;
    await send(async () => onSaved(initial ? await api<KeyJson>('PATCH', `/keys/${initial.id}`, body) : await api<KeyJson>('POST', '/keys', body)));
  };

  const general = err && !fieldError(err, 'name', 'scope', 'model', 'expires', 'rpm', 'tpm', 'concurrency', 'max-ctx', 'max-predict', 'max-keep-alive', 'ollama-pubkey', 'bind-cert') ? errorText(err) : null;
  const activeCerts = certs.filter((c) => c.state === 'active' || normFp(c.fingerprint) === f.cert);
  const boundUnknown = f.cert !== '' && !activeCerts.some((c) => normFp(c.fingerprint) === f.cert);
  return (
    <form class="form" onSubmit={(e) => void submit(e)} data-testid="key-form" noValidate>
      {general ? <Banner tone="error">{general}</Banner> : null}
      <div class="form-grid">
        <Field label="Name" error={fieldMsg('name')} hint="Who or what uses this key, e.g. laptop or open-webui">
          <input name="name" value={f.name} onInput={set('name')} autoComplete="off" required />
        </Field>
        <Field label="Expires" error={fieldMsg('expires')} hint="A duration like 30d, a date like 2027-01-31, or empty for never">
          <input name="expires" value={f.expires} onInput={set('expires')} placeholder="never" autoComplete="off" />
        </Field>
        <fieldset class={`field wide${fieldError(err, 'scope') ? ' has-error' : ''}`}>
          <legend class="field-label">Scopes</legend>
          <div class="checks">
            {SCOPES.map((s) => (
              <label class="check" key={s.id}>
                <input type="checkbox" name="scope" value={s.id} checked={f.scopes.includes(s.id)} onChange={() => toggleScope(s.id)} />
                <span>
                  <strong>{s.id}</strong> <span class="muted">{s.hint}</span>
                </span>
              </label>
            ))}
          </div>
          {fieldError(err, 'scope') ? <span class="field-error">{fieldError(err, 'scope')}</span> : null}
        </fieldset>
        <Field label="Models" wide error={fieldMsg('model')} hint="Comma-separated names or patterns like llama3.*, qwen2.5:* — empty for every model. The key's model lists (/api/tags, /api/ps, /v1/models) show only these, and never cloud or remote models unless the server allows account routes">
          <input name="models" value={f.models} onInput={set('models')} placeholder="every model" autoComplete="off" />
        </Field>
        <Field label="Ollama public keys" wide error={fieldMsg('ollama-pubkey')} hint="Lets the ollama CLI sign in with OLLAMA_AUTH=1: one per line, the contents of ~/.ollama/id_ed25519.pub">
          <textarea name="pubkeys" rows={2} value={f.pubkeys} onInput={set('pubkeys')} placeholder="ssh-ed25519 AAAA…" spellcheck={false} />
        </Field>
        <Field label="Client certificate" wide error={fieldError(err, 'bind-cert')} hint="When bound, the key works only over a connection presenting this certificate (mutual TLS)">
          <select name="cert" value={f.cert} onChange={set('cert')}>
            <option value="">Not bound: any connection</option>
            {activeCerts.map((c) => (
              <option key={c.serial} value={normFp(c.fingerprint)}>
                {c.name} ({c.state}, SHA-256 {c.fingerprint.slice(0, 23)}…)
              </option>
            ))}
            {boundUnknown ? <option value={f.cert}>SHA-256 {f.cert.slice(0, 16)}… (not issued here)</option> : null}
          </select>
        </Field>
        <Field label="Requests / minute" error={fieldMsg('rpm')}>
          <input name="rpm" inputMode="numeric" value={f.rpm} onInput={set('rpm')} placeholder="unlimited" />
        </Field>
        <Field label="Tokens / minute" error={fieldMsg('tpm')}>
          <input name="tpm" inputMode="numeric" value={f.tpm} onInput={set('tpm')} placeholder="unlimited" />
        </Field>
        <Field label="Concurrent requests" error={fieldMsg('concurrency')}>
          <input name="concurrency" inputMode="numeric" value={f.concurrency} onInput={set('concurrency')} placeholder="unlimited" />
        </Field>
        <Field label="Max context (num_ctx)" error={fieldMsg('max-ctx')} hint="The server's cap applies too; the lower one wins">
          <input name="maxCtx" inputMode="numeric" value={f.maxCtx} onInput={set('maxCtx')} placeholder="no cap" />
        </Field>
        <Field label="Max tokens per answer (num_predict)" error={fieldMsg('max-predict')} hint="Filled in when a request names none">
          <input name="maxPredict" inputMode="numeric" value={f.maxPredict} onInput={set('maxPredict')} placeholder="no cap" />
        </Field>
        <Field label="Max keep-alive" error={fieldMsg('max-keep-alive')} hint="Seconds or a duration like 30m, 1h">
          <input name="maxKeepAlive" value={f.maxKeepAlive} onInput={set('maxKeepAlive')} placeholder="no cap" autoComplete="off" />
        </Field>
      </div>
      <div class="actions">
        <button type="button" class="btn btn-ghost" onClick={onCancel}>Cancel</button>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : initial ? 'Save changes' : 'Create key'}
        </button>
      </div>
    </form>
  );
}

function RotateDialog({ k, onDone, onClose }: { k: KeyJson; onDone: (issued: KeyJson) => void; onClose: () => void }) {
  const [grace, setGrace] = useState('0');
  const { busy, err, send } = useSend();
  const submit = async (e: Event) => {
    e.preventDefault();
    await send(async () => onDone(await api<KeyJson>('POST', `/keys/${k.id}/rotate`, { grace })));
  };
  return (
    <Modal title={`Rotate “${k.name}”`} onClose={onClose}>
      <form class="form" onSubmit={(e) => void submit(e)} data-testid="rotate-form">
        {err && !fieldError(err, 'grace') ? <Banner tone="error">{errorText(err)}</Banner> : null}
        <p>A new secret replaces the current one. Clients keep working with the old secret until the grace period ends.</p>
        <Field label="Grace period" error={fieldError(err, 'grace')} hint="0 stops the old secret at once; or 15m, 24h, 7d">
          <input name="grace" value={grace} onInput={(e) => setGrace((e.target as HTMLInputElement).value)} />
        </Field>
        <div class="actions">
          <button type="button" class="btn btn-ghost" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn btn-primary" disabled={busy}>Rotate</button>
        </div>
      </form>
    </Modal>
  );
}

export function KeysPage() {
  const { data: keys, error, reload: load } = useApiGet<KeyJson[]>('/keys');
  const [editing, setEditing] = useState<KeyJson | 'new' | null>(null);
  const [secret, setSecret] = useState<{ title: string; key: string } | null>(null);
  const [rotating, setRotating] = useState<KeyJson | null>(null);
  const [confirm, setConfirm] = useState<{ kind: 'revoke' | 'delete'; k: KeyJson } | null>(null);

  return (
    <div class="stack">
      {error ? <Banner tone="error">{error}</Banner> : null}
      {secret ? (
        <SecretOnce title={secret.title} secret={secret.key} onDone={() => setSecret(null)}>
          <p class="muted small">
            Use it as <code>Authorization: Bearer …</code>, <code>X-API-Key</code>, or in a URL as <code>https://x:KEY@host:11443</code>.
          </p>
        </SecretOnce>
      ) : null}
      <div class="toolbar">
        <p class="muted">API keys let clients use Ollama through Warden. Secrets are shown once, when created or rotated.</p>
        {editing === null ? (
          <button type="button" class="btn btn-primary" onClick={() => setEditing('new')} data-testid="new-key">
            + New key
          </button>
        ) : null}
      </div>
      {editing !== null ? (
        <section class="card">
          <h2>{editing === 'new' ? 'New key' : `Edit “${editing.name}”`}</h2>
          <KeyForm
            initial={editing === 'new' ? null : editing}
            onCancel={() => setEditing(null)}
            onSaved={(k) => {
              if (k.key) setSecret({ title: `Key “${k.name}” created`, key: k.key });
              setEditing(null);
              void load();
            }}
          />
        </section>
      ) : null}
      <section class="card flush">
        <ListTable
          rows={keys}
          empty="No keys yet."
          heads={['Name', 'Scopes', 'Models', 'State', 'Expires', 'Last used', 'Limits']}
          actions
          testId="keys-table"
          row={(k) => (
            <tr key={k.id} data-key-id={k.id} data-key-name={k.name}>
              <td data-label="Name">
                <div class="strong">{k.name}</div>
                <div class="mono small muted">{k.id}</div>
              </td>
              <td data-label="Scopes">
                <div class="chips">
                  {k.scopes.map((s) => (
                    <span class="chip" key={s}>{s}</span>
                  ))}
                </div>
              </td>
              <td data-label="Models" class="small">{k.models.length ? k.models.join(', ') : <span class="muted">all</span>}</td>
              <td data-label="State">
                <Badge tone={stateTone(k.state)}>{k.state}</Badge>
                {k.graceUntil ? <div class="small muted">old secret until {fmtTime(k.graceUntil)}</div> : null}
              </td>
              <td data-label="Expires" class="small">{k.expiresAt ? fmtTime(k.expiresAt) : <span class="muted">never</span>}</td>
              <td data-label="Last used" class="small">{fmtRelative(k.lastUsedAt)}</td>
              <td data-label="Limits" class="small">
                {[
                  k.rpm ? `${k.rpm} rpm` : null,
                  k.tpm ? `${k.tpm} tpm` : null,
                  k.concurrency ? `${k.concurrency} conc.` : null,
                  k.caps.numCtx ? `ctx ≤ ${k.caps.numCtx}` : null,
                  k.caps.numPredict ? `predict ≤ ${k.caps.numPredict}` : null,
                  k.caps.keepAlive ? `keep-alive ≤ ${fmtSeconds(k.caps.keepAlive)}` : null,
                ].filter(Boolean).join(' · ') || <span class="muted">none</span>}
              </td>
              <td data-label="Actions" class="right nowrap">
                {k.state !== 'revoked' ? (
                  <>
                    <button type="button" class="btn btn-small btn-ghost" onClick={() => setEditing(k)}>Edit</button>
                    <button type="button" class="btn btn-small btn-ghost" onClick={() => setRotating(k)}>Rotate</button>
                    <button type="button" class="btn btn-small btn-ghost text-bad" onClick={() => setConfirm({ kind: 'revoke', k })}>Revoke</button>
                  </>
                ) : (
                  <button type="button" class="btn btn-small btn-ghost text-bad" onClick={() => setConfirm({ kind: 'delete', k })}>Delete</button>
                )}
              </td>
            </tr>
          )}
        />
      </section>
      {rotating ? (
        <RotateDialog
          k={rotating}
          onClose={() => setRotating(null)}
          onDone={(issued) => {
            setRotating(null);
            if (issued.key) setSecret({ title: `New secret for “${issued.name}”`, key: issued.key });
            void load();
          }}
        />
      ) : null}
      {confirm ? (
        <Confirm
          title={confirm.kind === 'revoke' ? `Revoke “${confirm.k.name}”?` : `Delete “${confirm.k.name}”?`}
          text={
            confirm.kind === 'revoke'
              ? 'Every client using this key is refused from the next request on, and running streams are cut. This cannot be undone.'
              : 'The key record is removed. Its audit entries stay.'
          }
          action={confirm.kind === 'revoke' ? 'Revoke key' : 'Delete key'}
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            if (confirm.kind === 'revoke') await api('POST', `/keys/${confirm.k.id}/revoke`, {});
            else await api('DELETE', `/keys/${confirm.k.id}`);
            setConfirm(null);
            await load();
          }}
        />
      ) : null}
    </div>
  );
}

