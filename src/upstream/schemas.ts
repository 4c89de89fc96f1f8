import { z } from 'zod';

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

export const upstreamOutput = z.object({
  url: z.string(),
  type: z.string().default('image'),
  thumbnail: z.string().nullish(),
  posterImage: z.string().nullish(),
});

export const jobResponse = z.object({
  jobId: z.string(),
  status: upstreamJobStatus,
  progress: z.number().optional(),
  output: z.string().nullish(),
  outputs: z.array(upstreamOutput).nullish(),
  error: z.object({ code: z.string(), message: z.string().default('') }).nullish(),
  createdAt: z.string().nullish(),
  completedAt: z.string().nullish(),
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

export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string().default(''),
    details: z.unknown().optional(),
  }),
});

/** The webhook PixelByte POSTs when a job reaches a terminal state. */
export const webhookPayload = z.discriminatedUnion('status', [
  z.object({
    jobId: z.string().min(1),
    requestId: z.string().optional(),
    status: z.literal('completed'),
    output: z
      .object({
        imageUrl: z.string().optional(),
        metadata: z.object({ width: z.number().optional(), height: z.number().optional(), format: z.string().optional() }).partial().optional(),
      })
      .optional(),
    completedAt: z.string().optional(),
  }),
  z.object({
    jobId: z.string().min(1),
    requestId: z.string().optional(),
    status: z.literal('failed'),
    error: z.object({ code: z.string(), message: z.string().default('') }).optional(),
    completedAt: z.string().optional(),
  }),
  z.object({
    jobId: z.string().min(1),
    requestId: z.string().optional(),
    status: z.literal('cancelled'),
    completedAt: z.string().optional(),
  }),
]);
export type WebhookPayload = z.infer<typeof webhookPayload>;
