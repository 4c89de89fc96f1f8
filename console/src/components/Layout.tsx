import type { ComponentChildren } from 'preact';
import { Link } from '../lib/router.js';
import type { Role } from '../lib/session.js';

const NAV: Record<Role, { href: string; label: string }[]> = {
  client: [
    { href: '/', label: 'Edits' },
    { href: '/edits/new', label: 'New edit' },
    { href: '/usage', label: 'Usage' },
  ],
  admin: [
    { href: '/', label: 'All edits' },
    { href: '/admin/clients', label: 'Clients' },
  ],
};

export function Layout(props: { role: Role; path: string; onSignOut: () => void; children: ComponentChildren }) {
  return (
    <>
      <header class="top">
        <span class="brand">pixelrelay</span>
        <nav aria-label="Console">
          {NAV[props.role].map((item) => (
            <Link key={item.href} href={item.href} aria-current={props.path === item.href ? 'page' : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
        <span class="who">{props.role === 'admin' ? 'Signed in as admin' : 'Signed in with an API key'}</span>
        <button type="button" class="secondary" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <main>{props.children}</main>
    </>
  );
}
