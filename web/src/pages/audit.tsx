// The audit log as a filterable, paged table (newest first).
import { useEffect, useState } from 'preact/hooks';
import { api, type AuditEventJson, type KeyJson } from '../api.ts';
import { Badge, Banner, Field, ListTable, errorText, fieldError, fmtTime } from '../ui.tsx';

interface Filters {
  key: string;
  status: string;
  path: string;
  kind: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { key: '', status: '', path: '', kind: '', since: '', until: '' };

function query(f: Filters, before?: string): string {
  const p = new URLSearchParams();
  if (f.key) p.set('key', f.key);
  if (f.status) p.set('status', f.status);
  if (f.path) p.set('path', f.path);
  if (f.kind) p.set('kind', f.kind);
  // datetime-local gives local time without a zone; the server wants an instant.
  if (f.since) p.set('since', new Date(f.since).toISOString());
  if (f.until) p.set('until', new Date(f.until).toISOString());
  if (before) p.set('before', before);
  p.set('limit', '50');
  return p.toString();
}

function statusTone(s: number | null): 'ok' | 'warn' | 'bad' | 'muted' {
  if (s === null) return 'muted';
  return s < 300 ? 'ok' : s < 500 ? 'warn' : 'bad';
}

export function AuditPage() {
  const [f, setF] = useState<Filters>(EMPTY);
  const [events, setEvents] = useState<AuditEventJson[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [keys, setKeys] = useState<KeyJson[]>([]);
  const [err, setErr] = useState<unknown>(null);

  const load = async (filters: Filters, before?: string) => {
    try {
      const r = await api<{ events: AuditEventJson[]; next: string | null }>('GET', `/audit?${query(filters, before)}`);
      setEvents(before ? [...(events ?? []), ...r.events] : r.events);
      setNext(r.next);
      setErr(null);
    } catch (x) {
      setErr(x);
    }
  };
  useEffect(() => {
    void load(EMPTY);
    void api<KeyJson[]>('GET', '/keys').then(setKeys, () => undefined);
  }, []);

  const set = (k: keyof Filters) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const general = err && !fieldError(err, 'key', 'status', 'path', 'since', 'until') ? errorText(err) : null;

  return (
    <div class="stack">
      <section class="card">
        <form
          class="filters"
          data-testid="audit-filters"
          onSubmit={(e) => {
            e.preventDefault();
            void load(f);
          }}
        >
          <Field label="Key" error={fieldError(err, 'key')}>
            <select name="key" value={f.key} onChange={set('key')}>
              <option value="">any key</option>
              {keys.map((k) => (
                <option key={k.id} value={k.id}>
                  {k.name} ({k.id})
                </option>
              ))}
            </select>
          </Field>
          <Field label="Status" error={fieldError(err, 'status')}>
            <select name="status" value={f.status} onChange={set('status')}>
              <option value="">any</option>
              <option value="2">2xx success</option>
              <option value="3">3xx</option>
              <option value="4">4xx refused</option>
              <option value="5">5xx failed</option>
            </select>
          </Field>
          <Field label="Kind">
            <select name="kind" value={f.kind} onChange={set('kind')}>
              <option value="">everything</option>
              <option value="request">requests</option>
              <option value="key.create">key created</option>
              <option value="key.rotate">key rotated</option>
              <option value="key.revoke">key revoked</option>
              <option value="config.change">settings changed</option>
              <option value="admin.signin">admin sign-in</option>
              <option value="admin.signin_failed">failed sign-in</option>
            </select>
          </Field>
          <Field label="Path starts with" error={fieldError(err, 'path')}>
            <input name="path" value={f.path} onInput={set('path')} placeholder="/api/chat" />
          </Field>
          <Field label="From" error={fieldError(err, 'since')}>
            <input name="since" type="datetime-local" value={f.since} onInput={set('since')} />
          </Field>
          <Field label="To" error={fieldError(err, 'until')}>
            <input name="until" type="datetime-local" value={f.until} onInput={set('until')} />
          </Field>
          <div class="filter-actions">
            <button type="submit" class="btn btn-primary">Apply</button>
            <button
              type="button"
              class="btn btn-ghost"
              onClick={() => {
                setF(EMPTY);
                void load(EMPTY);
              }}
            >
              Reset
            </button>
          </div>
        </form>
      </section>
      {general ? <Banner tone="error">{general}</Banner> : null}
      <section class="card flush">
        <ListTable
          rows={events}
          empty="No audit events match."
          heads={['Time', 'Event', 'Key', 'Request', 'Model', 'Status', 'Duration', 'Client', 'Detail']}
          testId="audit-table"
          row={(e) => (
            <tr key={e.id}>
              <td data-label="Time" class="nowrap small">{fmtTime(e.time, true)}</td>
              <td data-label="Event" class="small">{e.kind}</td>
              <td data-label="Key" class="small">{e.keyName ?? e.keyId ?? <span class="muted">{e.kind === 'request' ? 'anonymous' : '—'}</span>}</td>
              <td data-label="Request" class="mono small">{e.method ? `${e.method} ${e.path ?? ''}` : '—'}</td>
              <td data-label="Model" class="small">{e.model ?? '—'}</td>
              <td data-label="Status">{e.status !== null ? <Badge tone={statusTone(e.status)}>{e.status}</Badge> : '—'}</td>
              <td data-label="Duration" class="small">{e.durationMs !== null ? `${e.durationMs} ms` : '—'}</td>
              <td data-label="Client" class="mono small">{e.clientAddress ?? '—'}</td>
              <td data-label="Detail" class="small detail">
                {e.reason ?? ''}
                {e.actor ? <div class="muted">by {e.actor}</div> : null}
              </td>
            </tr>
          )}
        />
        {next ? (
          <div class="actions center">
            <button type="button" class="btn" onClick={() => void load(f, next)}>Load older</button>
          </div>
        ) : null}
      </section>
    </div>
  );
}
