// Small building blocks shared by the pages: form fields that show the server's field-named
// message, badges, a copy button, a confirm dialog, date formatting, and the two hooks every page
// used to write out (read a list when the page opens; send a form).
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api.ts';

export function fmtTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) });
}

export function fmtRelative(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const ms = Date.now() - new Date(iso).getTime();
  const abs = Math.abs(ms);
  const unit = abs < 60_000 ? [1000, 's'] : abs < 3_600_000 ? [60_000, 'min'] : abs < 86_400_000 ? [3_600_000, 'h'] : [86_400_000, 'd'];
  const n = Math.round(abs / (unit[0] as number));
  return ms >= 0 ? `${n} ${unit[1]} ago` : `in ${n} ${unit[1]}`;
}

/** The message to show for any failure: the server's own words, or a plain sentence. Never a stack. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return 'Something went wrong. Please try again.';
}

export function fieldError(err: unknown, ...fields: string[]): string | undefined {
  return err instanceof ApiError && err.field && fields.includes(err.field) ? err.message : undefined;
}

/** What a page shows from one admin API read: null until it arrives, the error's text when it
 *  failed; `reload` reads it again (after a change). */
export function useApiGet<T>(path: string): { data: T | null; error: string | null; reload: () => Promise<void> } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = async (): Promise<void> => {
    try {
      setData(await api<T>('GET', path));
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void reload(), [path]);
  return { data, error, reload };
}

/** A form's send: `busy` while `action` runs, and `err`, what it last failed with (for
 *  fieldError and errorText; cleared when a send starts). */
export function useSend(): { busy: boolean; err: unknown; setErr: (err: unknown) => void; send: (action: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const send = async (action: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setErr(null);
    try {
      await action();
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  return { busy, err, setErr, send };
}

interface FieldProps {
  label: string;
  hint?: string;
  error?: string | undefined;
  children: ComponentChildren;
  wide?: boolean;
}

export function Field({ label, hint, error, children, wide }: FieldProps) {
  return (
    <label class={`field${error ? ' has-error' : ''}${wide ? ' wide' : ''}`}>
      <span class="field-label">{label}</span>
      {children}
      {error ? <span class="field-error" role="alert">{error}</span> : hint ? <span class="field-hint">{hint}</span> : null}
    </label>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'muted' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function stateTone(state: string): 'ok' | 'warn' | 'bad' | 'muted' {
  return state === 'active' ? 'ok' : state === 'expired' ? 'warn' : state === 'revoked' ? 'bad' : 'muted';
}

export function Banner({ tone, children }: { tone: 'error' | 'warn' | 'ok' | 'info'; children: ComponentChildren }) {
  return (
    <div class={`banner banner-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      setTimeout(() => setDone(false), 2000);
    } catch {
      setDone(false);
    }
  };
  return (
    <button type="button" class="btn btn-small" onClick={() => void copy()}>
      {done ? 'Copied ✓' : label}
    </button>
  );
}

/** A secret shown exactly once (an API key, a bundle password). */
export function SecretOnce({ title, secret, onDone, children }: { title: string; secret: string; onDone: () => void; children?: ComponentChildren }) {
  return (
    <div class="secret-once" data-testid="secret-once">
      <h3>{title}</h3>
      <p>Copy it now. Warden does not keep it and will never show it again.</p>
      <div class="secret-row">
        <code class="secret" data-testid="secret-value">{secret}</code>
        <CopyButton text={secret} />
      </div>
      {children}
      <div class="actions">
        <button type="button" class="btn" onClick={onDone}>I have copied it</button>
      </div>
    </div>
  );
}

export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  // Escape closes the dialog, as every dialog on the web does.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        onClose();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title}>
        <div class="modal-head">
          <h2>{title}</h2>
          <button type="button" class="icon-btn" aria-label="Close" onClick={onClose}>×</button>
        </div>
        {children}
      </div>
    </div>
  );
}

/** A list as a table: "Loading…" until `rows` arrive, `empty` when there are none, else the
 *  table with `heads` as its column headings (and a right-aligned "Actions" one with `actions`). */
export function ListTable<T>({ rows, empty, heads, actions, testId, row }: { rows: T[] | null; empty: ComponentChildren; heads: string[]; actions?: boolean; testId?: string; row: (r: T) => ComponentChildren }) {
  if (rows === null) return <div class="loading">Loading…</div>;
  if (rows.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div class="table-wrap">
      <table class="responsive" data-testid={testId}>
        <thead>
          <tr>
            {heads.map((h) => (
              <th key={h}>{h}</th>
            ))}
            {actions ? <th class="right">Actions</th> : null}
          </tr>
        </thead>
        <tbody>{rows.map(row)}</tbody>
      </table>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A yes/no dialog for destructive actions; the action's error is shown in the dialog. */
export function Confirm({ title, text, action, danger, onConfirm, onClose }: { title: string; text: string; action: string; danger?: boolean; onConfirm: () => Promise<void>; onClose: () => void }) {
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } catch (x) {
      setErr(errorText(x));
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={onClose}>
      {err ? <Banner tone="error">{err}</Banner> : null}
      <p>{text}</p>
      <div class="actions">
        <button type="button" class="btn btn-ghost" onClick={onClose}>Cancel</button>
        <button type="button" class={`btn ${danger ? 'btn-danger' : 'btn-primary'}`} disabled={busy} onClick={() => void go()} data-testid="confirm">
          {action}
        </button>
      </div>
    </Modal>
  );
}
