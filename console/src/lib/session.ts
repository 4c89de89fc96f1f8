/**
 * Who is signed in. The key lives in sessionStorage only: it goes with the tab, never into a URL (where history,
 * logs and the Referer would keep it) and never into localStorage (where it would outlive the session).
 */
export type Role = 'client' | 'admin';
export interface Session {
  token: string;
  role: Role;
}

const KEY = 'pixelrelay.session';

export function loadSession(): Session | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return stored && typeof stored.token === 'string' && (stored.role === 'client' || stored.role === 'admin') ? stored : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** Fired on window when the session ends without the user asking (its `detail` says why). */
export const SIGNED_OUT_EVENT = 'pixelrelay:signed-out';

export function signOut(reason: string): void {
  clearSession();
  window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT, { detail: reason }));
}
