import { z } from 'zod';
import { DEFAULT_MODEL } from './models.js';
import { EDIT_STATUSES } from './status.js';

/** POST /v1/edits. `input` is checked against the chosen model's own schema afterwards. */
export const createEditBody = z.strictObject({
  model: z.string().min(1).max(200).default(DEFAULT_MODEL),
  input: z.record(z.string(), z.unknown()),
  callbackUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((m) => JSON.stringify(m).length <= 16 * 1024, 'must serialise to at most 16 KiB')
    .optional(),
});
export type CreateEditBody = z.infer<typeof createEditBody>;

export const listEditsQuery = z.strictObject({
  status: z.enum(EDIT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
export type ListEditsQuery = z.infer<typeof listEditsQuery>;

/** Turns zod issues into the `details` of an INVALID_INPUT error: where, and what is wrong. */
export function issuesToDetails(error: z.ZodError, prefix: (string | number)[] = []) {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.') || '(body)',
    message: issue.message,
  }));
}
