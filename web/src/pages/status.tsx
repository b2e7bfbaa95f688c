// Status: the same object as `warden status --json`, plus live connections and the request rate.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type ConnectionJson } from '../api.ts';
import { RateChart } from '../chart.tsx';
import { Badge, Banner, Empty, ListTable, errorText, fmtRelative, fmtTime } from '../ui.tsx';

interface CertInfo {
  subject?: string;
  issuer?: string;
  notAfter?: string;
  fingerprint256?: string;
  daysLeft?: number;
}

interface StatusJson {
  version?: string;
  listen?: string;
  url?: string | null;
  tls?: { enabled?: boolean; mode?: string; minVersion?: string; clientAuth?: string; certificate?: CertInfo | null; acme?: unknown };
  upstream?: { url?: string; reachable?: boolean; version?: string | null };
  keys?: { active?: number; revoked?: number; expired?: number };
  connections?: { live?: number };
  startedAt?: string | null;
}

const WARN_DAYS = 30;

function acmeText(acme: unknown): string {
  if (acme === null || acme === undefined) return 'not used';
  if (typeof acme === 'string') return acme;
  if (typeof acme === 'object') {
    const a = acme as Record<string, unknown>;
    const state = a.state ?? a.status;
    const parts = [typeof state === 'string' ? state : null, typeof a.lastError === 'string' ? `last error: ${a.lastError}` : null, typeof a.nextRenewal === 'string' ? `renews ${fmtTime(a.nextRenewal)}` : null].filter(Boolean);
    return parts.length ? parts.join(' · ') : 'configured';
  }
  return String(acme);
}

function Row({ label, children, testid }: { label: string; children: ComponentChildren; testid?: string }) {
  return (
    <div class="kv">
      <dt>{label}</dt>
      <dd data-testid={testid}>{children}</dd>
    </div>
  );
}

export function StatusPage() {
  const [status, setStatus] = useState<StatusJson | null>(null);
  const [conns, setConns] = useState<ConnectionJson[]>([]);
  const [rate, setRate] = useState<Array<{ minute: string; count: number }>>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    const load = async () => {
      try {
        const [s, c, r] = await Promise.all([
          api<StatusJson>('GET', '/status'),
          api<ConnectionJson[]>('GET', '/connections'),
          api<Array<{ minute: string; count: number }>>('GET', '/request-rate'),
        ]);
        if (!alive) return;
        setStatus(s);
        setConns(c);
        setRate(r);
        setError(null);
      } catch (err) {
        if (alive) setError(errorText(err));
      }
    };
    void load();
    const t = setInterval(() => void load(), 10_000);
    return () => {
      alive = false;
      clearInterval(t);
    };
  }, []);

  if (!status) return error ? <Banner tone="error">{error}</Banner> : <div class="loading">Loading…</div>;
  const tls = status.tls ?? {};
  const cert = tls.certificate ?? null;
  const days = cert?.daysLeft ?? (cert?.notAfter ? Math.floor((Date.parse(cert.notAfter) - Date.now()) / 86_400_000) : null);
  const expiring = days !== null && days < WARN_DAYS;
  const up = status.upstream ?? {};

  return (
    <div class="stack">
      {error ? <Banner tone="error">{error}</Banner> : null}
      <div class="grid cards">
        <section class="card">
          <h2>TLS</h2>
          <dl>
            <Row label="Encryption" testid="tls-enabled">
              {tls.enabled ? <Badge tone="ok">on</Badge> : <Badge tone="bad">off — plain HTTP</Badge>}
            </Row>
            <Row label="Certificate source">{tls.mode ?? '—'}</Row>
            <Row label="Protocol floor" testid="tls-min">TLS {tls.minVersion ?? '—'}</Row>
            <Row label="Client certificates (mTLS)" testid="tls-client-auth">{tls.clientAuth ?? '—'}</Row>
            <Row label="ACME">{tls.mode === 'acme' ? acmeText(tls.acme) : 'not used'}</Row>
          </dl>
        </section>
        <section class={`card${expiring ? ' card-warn' : ''}`}>
          <h2>Server certificate</h2>
          {cert ? (
            <dl>
              <Row label="Subject" testid="cert-subject">{cert.subject ?? '—'}</Row>
              <Row label="Issuer" testid="cert-issuer">{cert.issuer ?? '—'}</Row>
              <Row label="Expires">
                <time dateTime={cert.notAfter} class={expiring ? 'text-warn' : ''} data-testid="cert-expiry">
                  {fmtTime(cert.notAfter)}
                </time>{' '}
                {days !== null ? <Badge tone={expiring ? (days < 7 ? 'bad' : 'warn') : 'ok'}>{days} days left</Badge> : null}
              </Row>
              <Row label="SHA-256 fingerprint">
                <code class="fingerprint" data-testid="cert-fingerprint">{cert.fingerprint256 ?? '—'}</code>
              </Row>
            </dl>
          ) : (
            <Empty>No certificate in use.</Empty>
          )}
        </section>
        <section class="card">
          <h2>Ollama upstream</h2>
          <dl>
            <Row label="Address">{up.url ?? '—'}</Row>
            <Row label="Reachable" testid="upstream-reachable">
              {up.reachable ? <Badge tone="ok">reachable</Badge> : <Badge tone="bad">unreachable</Badge>}
            </Row>
            <Row label="Ollama version">{up.version ?? '—'}</Row>
          </dl>
        </section>
        <section class="card">
          <h2>Warden</h2>
          <dl>
            <Row label="Listening on">{status.url ?? status.listen ?? '—'}</Row>
            <Row label="Version">{status.version ?? '—'}</Row>
            <Row label="Running since">{status.startedAt ? fmtRelative(status.startedAt) : '—'}</Row>
            <Row label="Keys">
              {status.keys?.active ?? 0} active · {status.keys?.revoked ?? 0} revoked · {status.keys?.expired ?? 0} expired
            </Row>
          </dl>
        </section>
      </div>
      <section class="card">
        <h2>Requests per minute</h2>
        <RateChart points={rate} />
      </section>
      <section class="card">
        <h2>
          Live connections <span class="count">{conns.length}</span>
        </h2>
        <ListTable
          rows={conns}
          empty="No client is connected."
          heads={['Address', 'Key', 'TLS', 'Cipher', 'Client certificate', 'Streams', 'Since']}
          row={(c) => (
            <tr key={c.address + c.since}>
              <td data-label="Address" class="mono">{c.address}</td>
              <td data-label="Key" class="mono">{c.keyId ?? '—'}</td>
              <td data-label="TLS">{c.tlsVersion ?? 'plain'}</td>
              <td data-label="Cipher" class="mono small">{c.cipher ?? '—'}</td>
              <td data-label="Client certificate">{c.clientCertSubject ?? '—'}</td>
              <td data-label="Streams">{c.openStreams}</td>
              <td data-label="Since">{fmtRelative(c.since)}</td>
            </tr>
          )}
        />
      </section>
    </div>
  );
}
