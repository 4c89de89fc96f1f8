import { z } from 'zod';
import { DEFAULT_MODEL } from '../../catalog/models.js';
import { isStorableText, storableString, UNSTORABLE_TEXT } from '../../shared/safeText.js';
import { EDIT_STATUSES } from '../../store/edits/status.js';
import { metadataIssues } from '../accept/metadata.js';

// Read in more than one place: by two routes and the accept step (the body), by the list route and the service
// that decodes its cursor (the query), by every route under /v1/edits/:id. A schema only one route uses is
// declared in that route's file.

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
});
export type CreateEditBody = z.infer<typeof createEditBody>;

export const listEditsQuery = z.strictObject({
  status: z.enum(EDIT_STATUSES).optional(),
  model: z.string().min(1).max(200).optional().describe('Only edits of this model (its slug)'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
export type ListEditsQuery = z.infer<typeof listEditsQuery>;

/** A client's unfinished edits, counted now. */
export const openEditCounts = z.object({
  queued: z.number().int().describe('Waiting to be sent to PixelByte'),
  inFlight: z.number().int().describe('Being submitted, at PixelByte, or having their outputs stored'),
});

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
