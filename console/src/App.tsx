import { useEffect, useState } from 'preact/hooks';
import { Layout } from './components/Layout.js';
import { navigate, usePath } from './lib/router.js';
import { clearSession, loadSession, type Session, SIGNED_OUT_EVENT, saveSession } from './lib/session.js';
import { AdminClientsPage } from './pages/AdminClientsPage.js';
import { EditPage } from './pages/EditPage.js';
import { EditsPage } from './pages/EditsPage.js';
import { NewEditPage } from './pages/NewEditPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { UsagePage } from './pages/UsagePage.js';

/** Which page a path shows, for whom. */
function page(path: string, session: Session) {
  const edit = /^\/edits\/([^/]+)$/.exec(path);
  if (path === '/edits/new' && session.role === 'client') return <NewEditPage />;
  if (edit) return <EditPage id={decodeURIComponent(edit[1]!)} role={session.role} />;
  if (path === '/usage' && session.role === 'client') return <UsagePage />;
  if (path === '/admin/clients' && session.role === 'admin') return <AdminClientsPage />;
  return <EditsPage role={session.role} />;
}

export function App() {
  const [session, setSession] = useState(loadSession);
  const [signedOutBecause, setSignedOutBecause] = useState<string | null>(null);
  const path = usePath();
  useEffect(() => {
    const listener = (event: Event) => {
      setSession(null);
      setSignedOutBecause((event as CustomEvent<string>).detail);
    };
    window.addEventListener(SIGNED_OUT_EVENT, listener);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, listener);
  }, []);
  if (!session) {
    return (
      <SignInPage
        notice={signedOutBecause}
        onSignedIn={(signedIn) => {
          setSignedOutBecause(null);
          saveSession(signedIn);
          setSession(signedIn);
        }}
      />
    );
  }
  return (
    <Layout
      role={session.role}
      path={path}
      onSignOut={() => {
        clearSession();
        setSession(null);
        navigate('/');
      }}
    >
      {page(path, session)}
    </Layout>
  );
}
