// The app shell: session check, navigation between the five pages, sign-out, and the
// sign-in dialog that appears over the current page when a session expires.
import { Component, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getSession, onAuthLost, signOut, type SessionInfo } from './api.ts';
import { SignIn } from './pages/signin.tsx';
import { StatusPage } from './pages/status.tsx';
import { KeysPage } from './pages/keys.tsx';
import { CertsPage } from './pages/certs.tsx';
import { AuditPage } from './pages/audit.tsx';
import { SettingsPage } from './pages/settings.tsx';

const BASE = '/_warden/';
const PAGES = [
  { path: '', title: 'Status', view: StatusPage },
  { path: 'keys', title: 'Keys', view: KeysPage },
  { path: 'certs', title: 'Certificates', view: CertsPage },
  { path: 'audit', title: 'Audit log', view: AuditPage },
  { path: 'settings', title: 'Settings', view: SettingsPage },
] as const;

function currentPath(): string {
  const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return p === 'status' || p === 'signin' ? '' : p.replace(/\/$/, '');
}

/** A rendering bug shows a plain sentence, never a stack trace. */
class Guard extends Component<{ children: ComponentChildren }, { failed: boolean }> {
  override state = { failed: false };
  override componentDidCatch(): void {
    this.setState({ failed: true });
  }
  override render() {
    return this.state.failed ? (
      <div class="banner banner-error" role="alert">
        This page could not be shown. <a href={BASE}>Reload</a>
      </div>
    ) : (
      this.props.children
    );
  }
}

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [path, setPath] = useState(currentPath());
  const [reauth, setReauth] = useState<(() => void) | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    void getSession()
      .then(setSession)
      .catch(() => setSession(null));
    const onPop = () => setPath(currentPath());
    addEventListener('popstate', onPop);
    // An expired session: keep the page (and what was typed) mounted, ask for the key again,
    // then let the waiting request run again.
    onAuthLost(
      () =>
        new Promise<void>((resolve) => {
          setReauth(() => resolve);
        }),
    );
    return () => removeEventListener('popstate', onPop);
  }, []);

  const go = (p: string) => (e: Event) => {
    e.preventDefault();
    history.pushState(null, '', BASE + p);
    setPath(p);
    setMenuOpen(false);
    scrollTo(0, 0);
  };

  if (session === undefined) return <div class="loading">Loading…</div>;
  if (session === null) {
    return (
      <div class="signin-page">
        <SignIn onSignedIn={setSession} />
      </div>
    );
  }

  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  const View = page.view;
  document.title = `${page.title} · Ollama Warden`;

  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={BASE} onClick={go('')}>
          <img src="/_warden/favicon.svg" alt="" width="26" height="26" />
          <span class="brand-name">Ollama Warden</span>
        </a>
        <button type="button" class="icon-btn menu-btn" aria-label="Menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
          ☰
        </button>
        <nav class={`nav${menuOpen ? ' open' : ''}`} aria-label="Main">
          {PAGES.map((p) => (
            <a key={p.path} href={BASE + p.path} class={p.path === page.path ? 'active' : ''} aria-current={p.path === page.path ? 'page' : undefined} onClick={go(p.path)}>
              {p.title}
            </a>
          ))}
        </nav>
        <div class="who">
          <span class="who-name" title={session.keyId}>{session.keyName}</span>
          <button
            type="button"
            class="btn btn-small btn-ghost"
            data-testid="signout"
            onClick={() =>
              void signOut()
                .catch(() => undefined)
                .then(() => setSession(null))
            }
          >
            Sign out
          </button>
        </div>
      </header>
      <main class="content">
        <h1 class="page-title">{page.title}</h1>
        <Guard key={page.path}>
          <View />
        </Guard>
      </main>
      {reauth ? (
        <div class="modal-backdrop">
          <SignIn
            expired
            onSignedIn={(s) => {
              setSession(s);
              reauth();
              setReauth(null);
            }}
          />
        </div>
      ) : null}
    </div>
  );
}
