import createClient from 'openapi-fetch';
import type { paths } from '../generated/api.js';
import { loadSession, signOut } from './session.js';

/** The API, typed from its OpenAPI document (generated/api.d.ts); every call carries the session's key. */
export const api = createClient<paths>({ baseUrl: '' });
api.use({
  onRequest({ request }) {
    const session = loadSession();
    if (session && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${session.token}`);
    return request;
  },
  onResponse({ response }) {
    // A key revoked (or a token changed) while signed in: back to the sign-in page, which says why.
    if (response.status === 401 && loadSession()) signOut('This key is no longer accepted: sign in again');
    return response;
  },
});

export type Edit = paths['/v1/edits/{id}']['get']['responses']['200']['content']['application/json'];
export type AdminEdit = paths['/admin/edits/{id}']['get']['responses']['200']['content']['application/json'];
export type AnyEdit = Edit & { clientId?: string };
export type EditStatus = Edit['status'];
export type Model = paths['/v1/models']['get']['responses']['200']['content']['application/json']['models'][number];
export type Usage = paths['/v1/usage']['get']['responses']['200']['content']['application/json'];
export type Client = paths['/admin/clients']['get']['responses']['200']['content']['application/json']['clients'][number];
export type ClientDetail = paths['/admin/clients/{id}']['get']['responses']['200']['content']['application/json'];
export type Estimate = paths['/v1/edits/estimate']['post']['responses']['200']['content']['application/json'];

/** The API's one error shape, as far as a page needs it. */
export interface ApiProblem {
  statusCode?: number;
  code?: string;
  message?: string;
  details?: { path: string; message: string }[];
}

/** A failed call as one sentence for the page: the API's message, and where its details point. */
export function problemText(error: unknown, fallback = 'The request failed'): string {
  const problem = (error ?? {}) as ApiProblem;
  const details = Array.isArray(problem.details) ? problem.details.map((d) => `${d.path}: ${d.message}`).join('; ') : '';
  const head = problem.message ?? (error instanceof Error ? error.message : fallback);
  return details ? `${head} (${details})` : head;
}

export const EDIT_STATUSES = [
  'queued',
  'submitting',
  'submitted',
  'processing',
  'storing',
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly EditStatus[];
// A status the API adds fails the type check here until the filter offers it.
const everyStatusListed: Exclude<EditStatus, (typeof EDIT_STATUSES)[number]> extends never ? true : never = true;
void everyStatusListed;

/** Statuses after which an edit changes no more. */
export const TERMINAL: readonly EditStatus[] = ['completed', 'failed', 'cancelled'];
