// Sign-in with an admin key. The key goes to the server once and is dropped from the page as
// soon as the answer arrives; the browser keeps only the HttpOnly session cookie.
import { useState } from 'preact/hooks';
import { ApiError, signIn, type SessionInfo } from '../api.ts';
import { Banner, errorText } from '../ui.tsx';

export function SignIn({ onSignedIn, expired }: { onSignedIn: (s: SessionInfo) => void; expired?: boolean }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await signIn(key.trim());
      setKey('');
      onSignedIn(s);
    } catch (err) {
      setKey('');
      setError(
        err instanceof ApiError && err.status === 403
          ? 'This key is valid but does not have the admin scope.'
          : err instanceof ApiError && err.status === 401
            ? 'This key is not valid.'
            : errorText(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="signin-card" onSubmit={(e) => void submit(e)} data-testid="signin-form">
      <div class="brand brand-large">
        <img src="/_warden/favicon.svg" alt="" width="36" height="36" />
        <div>
          <div class="brand-name">Ollama Warden</div>
          <div class="brand-sub">Admin console</div>
        </div>
      </div>
      {expired ? <Banner tone="warn">Your session has ended. Sign in again to continue where you were.</Banner> : null}
      {error ? <Banner tone="error">{error}</Banner> : null}
      <label class="field">
        <span class="field-label">Admin API key</span>
        <input
          type="password"
          name="key"
          autoComplete="off"
          spellcheck={false}
          placeholder="owk_…"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          required
          autoFocus
        />
        <span class="field-hint">A key with the admin scope, e.g. the one `warden init` printed. It is not stored in this browser.</span>
      </label>
      <button class="btn btn-primary btn-block" type="submit" disabled={busy || key.trim() === ''}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
