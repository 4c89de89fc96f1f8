import type { Role } from './session.js';

/**
 * Which kind of key this is: the admin token opens the admin API, a client's key the client API. The admin API is
 * asked first, since a client key it refuses is not counted as a failed API key by the client API's limit.
 */
export async function roleOf(token: string): Promise<Role | { error: string }> {
  const headers = { authorization: `Bearer ${token}` };
  if (!/^[\x21-\x7e]+$/.test(token)) return { error: 'A key is one word of visible characters: check what was pasted' };
  const admin = await fetch('/admin/clients', { headers });
  if (admin.ok) return 'admin';
  const client = await fetch('/v1/models', { headers });
  if (client.ok) return 'client';
  if (client.status === 429) return { error: 'Too many wrong keys from this address: wait a minute, then try again' };
  if (client.status === 401) return { error: 'This key was not accepted: it is not an API key or the admin token of this relay (or it was revoked)' };
  return { error: `The relay answered ${client.status}; try again` };
}
