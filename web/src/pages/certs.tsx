// Client certificates for mutual TLS: issue (the bundle, its password and the private key can be
// downloaded only from the answer of that one request), list and revoke.
import { useEffect, useState } from 'preact/hooks';
import { api, type CaJson, type ClientCertJson, type IssuedClientCertJson } from '../api.ts';
import { Badge, Banner, Confirm, CopyButton, Field, ListTable, base64ToBytes, download, errorText, fieldError, fmtTime, stateTone, useApiGet, useSend } from '../ui.tsx';

function IssueForm({ onIssued }: { onIssued: (c: IssuedClientCertJson) => void }) {
  const [name, setName] = useState('');
  const [days, setDays] = useState('365');
  const { busy, err, send } = useSend();
  const submit = async (e: Event) => {
    e.preventDefault();
    await send(async () => {
      onIssued(await api<IssuedClientCertJson>('POST', '/certs', { name: name.trim(), days: days.trim() }));
      setName('');
    });
  };
  return (
    <form class="form" onSubmit={(e) => void submit(e)} data-testid="cert-form" noValidate>
      {err && !fieldError(err, 'name', 'days') ? <Banner tone="error">{errorText(err)}</Banner> : null}
      <div class="form-grid">
        <Field label="Name" error={fieldError(err, 'name')} hint="The client, e.g. laptop; becomes the certificate's CN">
          <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} autoComplete="off" />
        </Field>
        <Field label="Valid for (days)" error={fieldError(err, 'days')} hint="1 to 825">
          <input name="days" inputMode="numeric" value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
        </Field>
      </div>
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy || name.trim() === ''}>
          {busy ? 'Issuing…' : 'Issue certificate'}
        </button>
      </div>
    </form>
  );
}

function Issued({ c, onDone }: { c: IssuedClientCertJson; onDone: () => void }) {
  const n = c.certificate.name;
  return (
    <div class="secret-once" data-testid="cert-issued">
      <h3>Certificate “{n}” issued</h3>
      <p>Download the files now. Warden keeps the certificate record but not the private key, so they cannot be downloaded again.</p>
      <div class="actions left">
        <button type="button" class="btn btn-primary" onClick={() => download(`${n}.p12`, base64ToBytes(c.bundle), 'application/x-pkcs12')}>
          Download {n}.p12
        </button>
        <button type="button" class="btn" onClick={() => download(`${n}.pem`, c.certPem, 'application/x-pem-file')}>
          Certificate (PEM)
        </button>
        <button type="button" class="btn" onClick={() => download(`${n}-key.pem`, c.keyPem, 'application/x-pem-file')}>
          Private key (PEM)
        </button>
      </div>
      <div class="secret-row">
        <span class="field-label">Bundle password</span>
        <code class="secret">{c.password}</code>
        <CopyButton text={c.password} />
      </div>
      <div class="actions">
        <button type="button" class="btn" onClick={onDone}>Done</button>
      </div>
    </div>
  );
}

/** Warden's own CA: what clients must trust, with the fingerprint to compare out of band. */
function CaCard({ certCount }: { certCount: number }) {
  const [ca, setCa] = useState<CaJson | null | 'none'>(null);
  // The local CA may first be made by the first client certificate: look again when they change.
  useEffect(() => {
    void api<CaJson>('GET', '/certs/ca').then(setCa, () => setCa('none'));
  }, [certCount]);
  if (ca === null || ca === 'none') return null;
  return (
    <section class="card" data-testid="ca-card">
      <h2>Certificate authority</h2>
      <p class="muted">
        Clients trust Warden by trusting this CA (<code>warden cert trust</code> prints the commands). Compare the fingerprint with <code>warden cert status</code> on the server before
        trusting a downloaded copy.
      </p>
      <div class="secret-row">
        <span class="field-label">SHA-256</span>
        <code class="mono fingerprint" data-testid="ca-fingerprint">{ca.fingerprint256}</code>
        <CopyButton text={ca.fingerprint256} />
      </div>
      <p class="small muted">
        {ca.subject} · valid until {fmtTime(ca.notAfter)}
      </p>
      <div class="actions left">
        <button type="button" class="btn btn-primary" data-testid="ca-download" onClick={() => download('warden-ca.pem', ca.pem, 'application/x-pem-file')}>
          Download CA certificate (warden-ca.pem)
        </button>
      </div>
    </section>
  );
}

export function CertsPage() {
  const { data: certs, error, reload: load } = useApiGet<ClientCertJson[]>('/certs');
  const [issued, setIssued] = useState<IssuedClientCertJson | null>(null);
  const [revoking, setRevoking] = useState<ClientCertJson | null>(null);

  return (
    <div class="stack">
      {error ? <Banner tone="error">{error}</Banner> : null}
      {issued ? <Issued c={issued} onDone={() => setIssued(null)} /> : null}
      <CaCard certCount={certs?.length ?? -1} />
      <section class="card">
        <h2>Issue a client certificate</h2>
        <p class="muted">
          Client certificates are checked when mutual TLS is on (Settings → client certificates). A revoked certificate is refused at once, also on
          open connections.
        </p>
        <IssueForm
          onIssued={(c) => {
            setIssued(c);
            void load();
          }}
        />
      </section>
      <section class="card flush">
        <ListTable
          rows={certs}
          empty="No client certificates yet."
          heads={['Name', 'Subject', 'Serial', 'Expires', 'State']}
          actions
          testId="certs-table"
          row={(c) => (
            <tr key={c.serial}>
              <td data-label="Name" class="strong">{c.name}</td>
              <td data-label="Subject" class="small">{c.subject}</td>
              <td data-label="Serial" class="mono small" title={`SHA-256 ${c.fingerprint}`}>{c.serial.slice(0, 16)}…</td>
              <td data-label="Expires" class="small">{fmtTime(c.notAfter)}</td>
              <td data-label="State">
                <Badge tone={stateTone(c.state)}>{c.state}</Badge>
              </td>
              <td data-label="Actions" class="right">
                {c.state === 'active' ? (
                  <button type="button" class="btn btn-small btn-ghost text-bad" onClick={() => setRevoking(c)}>Revoke</button>
                ) : null}
              </td>
            </tr>
          )}
        />
      </section>
      {revoking ? (
        <Confirm
          title={`Revoke “${revoking.name}”?`}
          text="The certificate goes on the revocation list; connections presenting it are refused and open ones are closed."
          action="Revoke certificate"
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await api('POST', `/certs/${revoking.serial}/revoke`, {});
            setRevoking(null);
            await load();
          }}
        />
      ) : null}
    </div>
  );
}
