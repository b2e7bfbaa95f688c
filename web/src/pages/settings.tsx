// The TLS and listener settings. The server validates them exactly like warden.yaml and writes
// them back to it; what cannot be applied to the running server is marked "restart needed".
import { useEffect, useState } from 'preact/hooks';
import { api, type SettingsJson } from '../api.ts';
import { Banner, Field, errorText, fieldError, useSend } from '../ui.tsx';

interface Form {
  listen: string;
  upstream: string;
  mode: string;
  minVersion: string;
  cert: string;
  key: string;
  clientAuth: string;
  clientCA: string;
  hostnames: string;
  audit: boolean;
}

function toForm(s: SettingsJson): Form {
  return {
    listen: s.listen,
    upstream: s.upstream,
    mode: s.tls.mode,
    minVersion: s.tls.minVersion,
    cert: s.tls.cert ?? '',
    key: s.tls.key ?? '',
    clientAuth: s.tls.clientAuth,
    clientCA: s.tls.clientCA ?? '',
    hostnames: s.tls.hostnames.join(', '),
    audit: s.audit.enabled,
  };
}

/** Only what changed goes to the server, so an untouched field can never fail validation. */
function diff(a: Form, b: Form): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const tls: Record<string, unknown> = {};
  const nul = (s: string) => (s.trim() === '' ? null : s.trim());
  if (a.listen !== b.listen) patch.listen = b.listen.trim();
  if (a.upstream !== b.upstream) patch.upstream = b.upstream.trim();
  if (a.mode !== b.mode) tls.mode = b.mode;
  if (a.minVersion !== b.minVersion) tls.minVersion = b.minVersion;
  if (a.cert !== b.cert) tls.cert = nul(b.cert);
  if (a.key !== b.key) tls.key = nul(b.key);
  if (a.clientAuth !== b.clientAuth) tls.clientAuth = b.clientAuth;
  if (a.clientCA !== b.clientCA) tls.clientCA = nul(b.clientCA);
  if (a.hostnames !== b.hostnames) tls.hostnames = b.hostnames.split(',').map((s) => s.trim()).filter(Boolean);
  if (Object.keys(tls).length) patch.tls = tls;
  if (a.audit !== b.audit) patch.audit = { enabled: b.audit };
  return patch;
}

export function SettingsPage() {
  const [saved, setSaved] = useState<Form | null>(null);
  const [f, setF] = useState<Form | null>(null);
  const [restart, setRestart] = useState<string[]>([]);
  const { busy, err, setErr, send } = useSend();
  const [ok, setOk] = useState(false);

  useEffect(() => {
    void api<{ settings: SettingsJson; restartNeeded: string[] }>('GET', '/settings').then(
      (r) => {
        setSaved(toForm(r.settings));
        setF(toForm(r.settings));
        setRestart(r.restartNeeded);
      },
      (x) => setErr(x),
    );
  }, []);

  if (!f || !saved) return err ? <Banner tone="error">{errorText(err)}</Banner> : <div class="loading">Loading…</div>;

  const set = (k: keyof Form) => (e: Event) => {
    const t = e.target as HTMLInputElement;
    setF({ ...f, [k]: t.type === 'checkbox' ? t.checked : t.value });
    setOk(false);
  };
  const patch = diff(saved, f);
  const dirty = Object.keys(patch).length > 0;

  const submit = async (e: Event) => {
    e.preventDefault();
    await send(async () => {
      const r = await api<{ settings: SettingsJson; restartNeeded: string[] }>('PATCH', '/settings', patch);
      setSaved(toForm(r.settings));
      setF(toForm(r.settings));
      setRestart(r.restartNeeded);
      setOk(true);
    });
  };

  const fe = (...fields: string[]) => fieldError(err, ...fields);
  const FIELDS = ['listen', 'upstream', 'tls.mode', 'tls.minVersion', 'tls.cert', 'tls.key', 'tls.clientAuth', 'tls.clientCA', 'tls.hostnames', 'audit.enabled', 'tls'];
  const general = err && !fe(...FIELDS) ? errorText(err) : null;
  const pending = (field: string) => (restart.includes(field) ? <span class="tag-restart">restart needed</span> : null);

  return (
    <form class="stack" onSubmit={(e) => void submit(e)} data-testid="settings-form" noValidate>
      {restart.length ? (
        <Banner tone="warn">
          Saved to warden.yaml. Restart Warden to apply: <strong>{restart.join(', ')}</strong>.
        </Banner>
      ) : null}
      {ok && !restart.length ? <Banner tone="ok">Saved and applied.</Banner> : null}
      {general ? <Banner tone="error">{general}</Banner> : null}
      {fe('tls') ? <Banner tone="error">{fe('tls')}</Banner> : null}
      <section class="card">
        <h2>Listener</h2>
        <div class="form-grid">
          <Field label={'Listen address'} error={fe('listen')} hint="HOST:PORT, e.g. 0.0.0.0:11443">
            <input name="listen" value={f.listen} onInput={set('listen')} />
            {pending('listen')}
          </Field>
          <Field label="Ollama upstream" error={fe('upstream')} hint="e.g. http://127.0.0.1:11434">
            <input name="upstream" value={f.upstream} onInput={set('upstream')} />
            {pending('upstream')}
          </Field>
        </div>
      </section>
      <section class="card">
        <h2>TLS</h2>
        <div class="form-grid">
          <Field label="Certificate source" error={fe('tls.mode')}>
            <select name="tls.mode" value={f.mode} onChange={set('mode')}>
              <option value="local">local — Warden's own CA</option>
              <option value="files">files — your certificate</option>
              <option value="acme">acme — Let's Encrypt or another ACME CA</option>
              <option value="off">off — plain HTTP (needs --insecure-http)</option>
            </select>
            {pending('tls.mode')}
          </Field>
          <Field label="Minimum TLS version" error={fe('tls.minVersion')} hint="1.3 is the safe default; 1.2 only for old clients">
            <select name="tls.minVersion" value={f.minVersion} onChange={set('minVersion')}>
              <option value="1.3">TLS 1.3</option>
              <option value="1.2">TLS 1.2</option>
            </select>
            {pending('tls.minVersion')}
          </Field>
          <Field label="Certificate file (PEM)" error={fe('tls.cert')} hint="For source “files”; a chain is allowed">
            <input name="tls.cert" value={f.cert} onInput={set('cert')} placeholder="/etc/warden/fullchain.pem" />
            {pending('tls.cert')}
          </Field>
          <Field label="Private key file (PEM)" error={fe('tls.key')}>
            <input name="tls.key" value={f.key} onInput={set('key')} placeholder="/etc/warden/privkey.pem" />
            {pending('tls.key')}
          </Field>
          <Field label="Extra host names" wide error={fe('tls.hostnames')} hint="Comma-separated names and IPs for the local-CA certificate">
            <input name="tls.hostnames" value={f.hostnames} onInput={set('hostnames')} placeholder="ollama.lan, 192.168.1.10" />
            {pending('tls.hostnames')}
          </Field>
        </div>
      </section>
      <section class="card">
        <h2>Client certificates (mutual TLS)</h2>
        <div class="form-grid">
          <Field label="Mode" error={fe('tls.clientAuth')} hint="require: every client needs a certificate">
            <select name="tls.clientAuth" value={f.clientAuth} onChange={set('clientAuth')}>
              <option value="off">off</option>
              <option value="optional">optional</option>
              <option value="require">require</option>
            </select>
            {pending('tls.clientAuth')}
          </Field>
          <Field label="Client CA file (PEM)" error={fe('tls.clientCA')} hint="Empty: Warden's own CA">
            <input name="tls.clientCA" value={f.clientCA} onInput={set('clientCA')} placeholder="Warden's local CA" />
            {pending('tls.clientCA')}
          </Field>
        </div>
      </section>
      <section class="card">
        <h2>Audit log</h2>
        <label class={`check${fe('audit.enabled') ? ' has-error' : ''}`}>
          <input type="checkbox" name="audit.enabled" checked={f.audit} onChange={set('audit')} />
          <span>
            <strong>Record every request</strong> <span class="muted">Turning this off leaves no record of abuse.</span>
          </span>
        </label>
        {pending('audit.enabled')}
      </section>
      <div class="actions sticky-actions">
        <button type="button" class="btn btn-ghost" disabled={!dirty} onClick={() => setF(saved)}>
          Discard changes
        </button>
        <button type="submit" class="btn btn-primary" disabled={!dirty || busy} data-testid="settings-save">
          {busy ? 'Saving…' : 'Save settings'}
        </button>
      </div>
    </form>
  );
}
