import { z } from 'zod';
import { DEFAULT_MODEL } from '../../catalog/models.js';
import { isStorableText, storableString, UNSTORABLE_TEXT } from '../../shared/safeText.js';
import { EDIT_PRIORITIES, EDIT_STATUSES } from '../../store/edits/status.js';
import { metadataIssues } from '../accept/metadata.js';

// Read in more than one place: by two routes and the accept step (the body), by the list route and the service
// that decodes its cursor (the query), by every route under /v1/edits/:id. A schema only one route uses is
// declared in that route's file.

/** The furthest deadline an edit may set: a week. */
export const MAX_DEADLINE_SECONDS = 7 * 24 * 3600;

/** POST /v1/edits. `input` is checked against the chosen model's own schema afterwards. */
export const createEditBody = z.strictObject({
  model: storableString().min(1).max(200).default(DEFAULT_MODEL),
  input: z.record(z.string(), z.unknown()),
  callbackUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    // The URL parser percent-encodes these, but the string is stored as given.
    .refine(isStorableText, UNSTORABLE_TEXT)
    .optional(),
  // Bounded before the record is even looked at: everything after this point recurses (see metadataIssues).
  metadata: z
    .unknown()
    .superRefine((value, ctx) => {
      for (const issue of metadataIssues(value)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    })
    .pipe(z.record(z.string(), z.unknown()))
    .optional(),
  priority: z
    .enum(EDIT_PRIORITIES)
    .optional()
    .describe("Orders this client's own waiting edits (default normal); never moves it ahead of another client's fair share"),
  deadline: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-04T16:00:00Z' })
    .optional()
    .describe(
      'Past this, an edit not yet sent is cancelled (nothing charged), one pending at PixelByte is cancelled there, one processing finishes with `deadlineMissed`',
    ),
  expiresInSeconds: z
    .number()
    .int()
    .min(1)
    .max(MAX_DEADLINE_SECONDS)
    .optional()
    .describe('The deadline as seconds from now; give this or `deadline`, not both'),
});
export type CreateEditBody = z.infer<typeof createEditBody>;

export const listEditsQuery = z.strictObject({
  status: z.enum(EDIT_STATUSES).optional(),
  model: z.string().min(1).max(200).optional().describe('Only edits of this model (its slug)'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
export type ListEditsQuery = z.infer<typeof listEditsQuery>;

/** The admin API's list: every client's edits, or one client's. */
export const adminListEditsQuery = listEditsQuery.extend({
  clientId: z.string().min(1).max(200).optional().describe('Only this client’s edits'),
});

/** Any string: an id that is not a UUID is an edit that does not exist (404), not a malformed request. */
export const editIdParams = z.object({ id: z.string() });

/** Turns zod issues into the `details` of an INVALID_INPUT error: where, and what is wrong. */
export function issuesToDetails(error: z.ZodError, prefix: (string | number)[] = []) {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.') || '(body)',
    message: issue.message,
  }));
}
