import { z } from 'zod';
import { storableString } from '../shared/safeText.js';

/** PixelByte documents some responses flat and others wrapped in `{ success, data }`: accept both. */
export function unwrap(body: unknown): unknown {
  if (body && typeof body === 'object' && 'data' in body && (body as { data: unknown }).data && typeof (body as { data: unknown }).data === 'object') {
    return (body as { data: unknown }).data;
  }
  return body;
}

export const submitResponse = z.object({
  jobId: z.string().min(1),
  requestId: z.string().optional(),
  status: z.string().default('pending'),
  estimatedCompletionTime: z.iso.datetime({ offset: true }).optional().catch(undefined),
  costMicroCents: z.number().int().nonnegative().optional(),
});
export type SubmitResponse = z.infer<typeof submitResponse>;

export const upstreamJobStatus = z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled']);
export type UpstreamJobStatus = z.infer<typeof upstreamJobStatus>;

// Text Postgres can store, as for webhooks: an answer that holds U+0000 or a lone surrogate is unreadable (and asked
// again later), never a failed statement at every poll.
export const upstreamOutput = z.object({
  url: storableString(),
  type: storableString().default('image'),
  thumbnail: storableString().nullish(),
  posterImage: storableString().nullish(),
});

export const jobResponse = z.object({
  jobId: storableString(),
  status: upstreamJobStatus,
  progress: z.number().optional(),
  output: storableString().nullish(),
  outputs: z.array(upstreamOutput).nullish(),
  error: z.object({ code: storableString(), message: storableString().default('') }).nullish(),
  createdAt: storableString().nullish(),
  completedAt: storableString().nullish(),
});
export type UpstreamJob = z.infer<typeof jobResponse>;

/** Every output of a job: `outputs` when PixelByte lists them, else the lone `output` URL. */
export function listedOutputs(job: UpstreamJob): { url: string; type: string }[] {
  if (job.outputs?.length) return job.outputs.map((o) => ({ url: o.url, type: o.type }));
  return job.output ? [{ url: job.output, type: 'image' }] : [];
}

export const cancelResponse = z.object({
  jobId: z.string(),
  status: z.string(),
  refundedMicroCents: z.number().int().nonnegative().optional(),
});

const httpUrl = z.url({ protocol: /^https?$/ });

/**
 * `POST /v1/uploads/presign`'s answer: where to PUT the file and the URL it will then have. The file URL ends up in
 * edits' inputs (a jsonb column, and what a job names), so it is held to what Postgres stores and a URL's usual bound.
 */
export const presignResponse = z.object({
  uploadUrl: httpUrl,
  fileUrl: httpUrl.max(2048).pipe(storableString()),
  fileId: storableString().min(1).max(255),
  expiresAt: z.iso.datetime({ offset: true }).optional().catch(undefined),
  maxSize: z.number().int().positive().optional().catch(undefined),
});
export type PresignResponse = z.infer<typeof presignResponse>;

/** PixelByte's own error envelope; a gateway's page in front of it never parses as one. */
export const errorResponse = z.object({
  success: z.literal(false),
  error: z.object({
    code: z.string().min(1),
    message: z.string().catch(''),
    details: z.unknown().optional(),
  }),
});

/** One job of `GET /v1/jobs`. Fields beyond the id are read leniently: the list is only searched, never applied. */
export const listedJob = z.object({
  jobId: z.string().min(1),
  status: z.string(),
  model: z.string().nullish(),
  createdAt: z.string().nullish(),
  completedAt: z.string().nullish(),
});
export type ListedJob = z.infer<typeof listedJob>;

export const jobListResponse = z.object({
  jobs: z.array(listedJob),
  nextCursor: z.string().nullish(),
  hasMore: z.boolean().default(false),
});
export type JobList = z.infer<typeof jobListResponse>;

/**
 * The webhook PixelByte POSTs when a job reaches a terminal state. Every string is held to what Postgres can store
 * exactly, the ones we never store too: a signed payload with U+0000 or a lone surrogate anywhere is not one
 * PixelByte sends, and is refused whole rather than applied in part.
 */
export const webhookPayload = z.discriminatedUnion('status', [
  z.object({
    jobId: storableString().min(1),
    requestId: storableString().optional(),
    status: z.literal('completed'),
    output: z
      .object({
        imageUrl: storableString().optional(),
        metadata: z.object({ width: z.number().optional(), height: z.number().optional(), format: storableString().optional() }).partial().optional(),
      })
      .optional(),
    completedAt: storableString().optional(),
  }),
  z.object({
    jobId: storableString().min(1),
    requestId: storableString().optional(),
    status: z.literal('failed'),
    error: z.object({ code: storableString(), message: storableString().default('') }).optional(),
    completedAt: storableString().optional(),
  }),
  z.object({
    jobId: storableString().min(1),
    requestId: storableString().optional(),
    status: z.literal('cancelled'),
    completedAt: storableString().optional(),
  }),
]);
export type WebhookPayload = z.infer<typeof webhookPayload>;
