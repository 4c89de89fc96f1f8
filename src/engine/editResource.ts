import { z } from 'zod';
import type { CallbackStatus } from '../generated/prisma/enums.js';
import type { Edit, EditTransition } from '../store/edits/repository.js';
import { EDIT_PRIORITIES, EDIT_STATUSES } from '../store/edits/status.js';
import { callbackDeliveryView, submitAttemptView } from './editExtras.js';

// Rows written by every earlier release are answered through these schemas: a field that was ever stored
// without a value must stay nullable here, or reading that edit becomes a 500.

const timestamp = z.string().describe('ISO 8601, UTC');

const storedMirror = z.object({
  key: z.string().describe('The object key in the bucket: `{STORAGE_S3_PREFIX}{clientId}/{editId}/{n}.{ext}`'),
  bytes: z.number().int(),
  sha256: z.string().describe('Lowercase hex SHA-256 of the stored bytes'),
  contentType: z.string().describe('Read from the bytes (`application/octet-stream` when they are no image type we know)'),
  storedAt: timestamp,
});
const failedMirror = z.object({
  error: z
    .object({ code: z.string(), message: z.string() })
    .describe(
      'Why the output is not in the bucket: OUTPUT_GONE, OUTPUT_FETCH_FAILED, OUTPUT_TOO_LARGE, OUTPUT_URL_REFUSED, STORE_FAILED, MIRROR_TIMEOUT or STORAGE_NOT_CONFIGURED. Its `url` is PixelByte’s, which may not last',
    ),
});
/** What the database holds of one output's copy: `url` is made on every read, never stored. */
const outputMirror = z.union([storedMirror, failedMirror]);
export type OutputMirror = z.infer<typeof outputMirror>;

const outputMirrorShown = z
  .union([
    storedMirror.extend({
      url: z
        .string()
        .optional()
        .describe('A presigned GET of the copy, made on this read; it lasts STORAGE_URL_TTL_SECONDS (absent only when the relay has no bucket configured now)'),
    }),
    failedMirror,
  ])
  .describe('The copy in the storage bucket (only with STORAGE_S3_BUCKET), once the edit has stored, or given up on, this output');

const editOutput = z.object({
  url: z.string().describe('Where PixelByte serves the output: its CDN may forget it after a while'),
  type: z.string(),
  width: z.number().optional(),
  height: z.number().optional(),
  format: z.string().optional(),
  mirror: outputMirrorShown.optional(),
});
/** An output as stored on the edit; `mirror` without its `url`, which each read signs anew. */
export type EditOutput = Omit<z.infer<typeof editOutput>, 'mirror'> & { mirror?: OutputMirror };
export type ShownOutput = z.infer<typeof editOutput>;

const editStatus = z.enum(EDIT_STATUSES);

const editTransition = z.object({
  at: timestamp,
  from: editStatus.nullable(),
  to: editStatus,
  cause: z.string(),
  upstreamCode: z.string().nullable(),
});

/** The edit as our API shows it. Tests and client tools are written against these names. */
export const editResource = z.object({
  id: z.string(),
  status: editStatus,
  model: z.string(),
  input: z
    .record(z.string(), z.unknown())
    .describe(
      "The input as PixelByte is sent it, the model's defaults filled in; an image named `upload:<id>` stays so here, and PixelByte is sent that upload's fileUrl",
    ),
  callbackUrl: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  upstream: z.object({ jobId: z.string().nullable(), requestId: z.string().nullable(), status: z.string().nullable() }),
  estimatedCompletionAt: timestamp.nullable(),
  estimatedCostMicroCents: z.number().int(),
  costMicroCents: z.number().int().nullable(),
  outputs: z.array(editOutput).describe('With a storage bucket, each carries its `mirror` once the edit is `completed`'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  submittedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
  priority: z.enum(EDIT_PRIORITIES).describe("Orders the client's own waiting edits"),
  deadline: timestamp.nullable().describe('Past this, an edit not yet sent is cancelled (cause `deadline`); null: none'),
  deadlineMissed: z.boolean().describe('The deadline passed while PixelByte was already processing the edit: it finished all the same'),
  queuePosition: z
    .number()
    .int()
    .optional()
    .describe("Only on GET /v1/edits/{id} of a queued edit: its place among the client's waiting edits, 1 being the next sent"),
  callback: z
    .object({
      status: z.enum(['none', 'pending', 'delivered', 'failed']),
      attempts: z.number().int(),
      lastError: z.string().nullable(),
      deliveredAt: timestamp.nullable(),
    })
    .describe('The callback delivery: `none` until the edit is terminal, or when it has no callbackUrl'),
  history: z.array(editTransition).optional().describe('Only with `?include=history`'),
  attempts: z.array(submitAttemptView).optional().describe('Only with `?include=attempts`: each call to PixelByte’s submit'),
  deliveries: z.array(callbackDeliveryView).optional().describe('Only with `?include=deliveries`: the callbacks, each with its attempts'),
});
export type EditResource = z.infer<typeof editResource>;

export const editPage = z.object({
  edits: z.array(editResource),
  nextCursor: z.string().nullable(),
});

/** The edit as the admin API shows it: with the client it belongs to. */
export const adminEditResource = editResource.extend({ clientId: z.string().describe('The client that made the edit') });
export type AdminEditResource = z.infer<typeof adminEditResource>;

export const adminEditPage = z.object({
  edits: z.array(adminEditResource),
  nextCursor: z.string().nullable(),
});

/** What an edit shows of its callback delivery, which the callbacks feature creates when the edit becomes terminal. */
export interface CallbackState {
  status: CallbackStatus;
  attempts: number;
  lastError: string | null;
  deliveredAt: Date | null;
}

export function toEditResource(edit: Edit, history?: EditTransition[], callback?: CallbackState | null): EditResource {
  return {
    id: edit.id,
    status: edit.status,
    model: edit.model,
    input: edit.input as EditResource['input'],
    callbackUrl: edit.callbackUrl,
    metadata: edit.metadata as EditResource['metadata'],
    upstream: { jobId: edit.upstreamJobId, requestId: edit.upstreamRequestId, status: edit.upstreamStatus },
    estimatedCompletionAt: iso(edit.estimatedCompletionAt),
    estimatedCostMicroCents: edit.estimatedCostMicroCents,
    costMicroCents: edit.costMicroCents,
    outputs: edit.outputs as unknown as ShownOutput[],
    error: edit.errorCode ? { code: edit.errorCode, message: edit.errorMessage ?? '' } : null,
    createdAt: edit.createdAt.toISOString(),
    updatedAt: edit.updatedAt.toISOString(),
    submittedAt: iso(edit.submittedAt),
    completedAt: iso(edit.completedAt),
    priority: edit.priority,
    deadline: iso(edit.deadlineAt),
    deadlineMissed: edit.deadlineMissed,
    callback: callback
      ? { status: callback.status, attempts: callback.attempts, lastError: callback.lastError, deliveredAt: iso(callback.deliveredAt) }
      : { status: 'none', attempts: 0, lastError: null, deliveredAt: null },
    ...(history
      ? {
          history: history.map((h) => ({
            at: h.at.toISOString(),
            from: h.fromStatus,
            to: h.toStatus,
            cause: h.cause,
            upstreamCode: h.upstreamCode,
          })),
        }
      : {}),
  };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
