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
