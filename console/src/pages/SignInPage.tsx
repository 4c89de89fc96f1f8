import { useState } from 'preact/hooks';
import type { Session } from '../lib/session.js';
import { roleOf } from '../lib/signIn.js';

export function SignInPage(props: { onSignedIn: (session: Session) => void; notice?: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const role = await roleOf(token.trim());
      if (typeof role === 'string') props.onSignedIn({ token: token.trim(), role });
      else setError(role.error);
    } catch {
      setError('The relay could not be reached');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>pixelrelay console</h1>
      <p>Sign in with a client’s API key to see its edits, or with the admin token to see every client’s.</p>
      {props.notice && !error && (
        <p class="error" role="alert">
          {props.notice}
        </p>
      )}
      <form onSubmit={submit} method="post">
        <label for="token">API key or admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby={error ? 'sign-in-error' : undefined}
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="hint">
        The key is kept in this tab’s session storage only. The API reference is at <a href="/docs">/docs</a>.
      </p>
    </main>
  );
}
