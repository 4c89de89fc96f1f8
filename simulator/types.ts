import { z } from 'zod';

/** One-shot (or global) behaviour of a submit call. */
export const submitBehaviourSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('error'),
    status: z.number().int().min(400).max(599),
    code: z.string().min(1),
    message: z.string().optional(),
    /** Seconds, sent as `error.details.retryAfter` (PixelByte puts it in the body, not a header). */
    retryAfter: z.number().nonnegative().optional(),
  }),
  z.strictObject({ kind: z.literal('slow'), delayMs: z.number().int().nonnegative() }),
  /** The job is created and charged, then the socket is destroyed: the client cannot know. */
  z.strictObject({ kind: z.literal('accept-then-drop') }),
  /** The job is created and charged at once; its answer leaves `delayMs` later (the client's world may change meanwhile). */
  z.strictObject({ kind: z.literal('accept-then-slow'), delayMs: z.number().int().nonnegative() }),
  /** The socket is destroyed before anything happens: no job. */
  z.strictObject({ kind: z.literal('drop') }),
  /**
   * The load balancer/CDN in front of PixelByte answers 502/504 with its own HTML page, no PixelByte envelope.
   * `jobCreated`: PixelByte had already created and charged the job (its webhook follows as usual), or nothing
   * reached it. A submit PixelByte itself refuses (bad input, balance, limit) still gets PixelByte's answer.
   */
  z.strictObject({ kind: z.literal('gateway-error'), status: z.union([z.literal(502), z.literal(504)]), jobCreated: z.boolean() }),
  z.strictObject({ kind: z.literal('early-webhook') }),
  z.strictObject({ kind: z.literal('generation-failure') }),
  z.strictObject({ kind: z.literal('drop-webhook') }),
  z.strictObject({ kind: z.literal('duplicate-webhook') }),
]);
export type SubmitBehaviour = z.infer<typeof submitBehaviourSchema>;

export const WEBHOOK_MODES = ['deliver', 'drop', 'duplicate', 'reorder', 'early'] as const;
export type WebhookMode = (typeof WEBHOOK_MODES)[number];

const rate = z.number().min(0).max(1);

/** Global switches for a run. Over HTTP, `null` clears a switch. */
export const switchesSchema = z.strictObject({
  submitFault: submitBehaviourSchema.optional(),
  submitFaultRate: rate.optional(),
  webhook: z.enum(WEBHOOK_MODES).optional(),
  webhookDelayMs: z.number().int().nonnegative().optional(),
  webhookFaultRate: rate.optional(),
  failureRate: rate.optional(),
  responseDelayMs: z.number().int().nonnegative().optional(),
  /** A cancel takes effect (job cancelled, refunded) at once; its answer leaves this much later. */
  cancelResponseDelayMs: z.number().int().nonnegative().optional(),
  /**
   * The CDN forgets a job's outputs (and thumbnails) this long after the job completed: their URLs then answer 404,
   * as an expired object does. Judged when the output is requested; overrides the `outputTtlMs` option.
   */
  outputTtlMs: z.number().int().nonnegative().optional(),
  /** Overrides the `uploadUrlTtlMs` option for the presigns made while it is set. */
  uploadUrlTtlMs: z.number().int().nonnegative().optional(),
  /** Overrides the `uploadLifeMs` option for the files PUT while it is set. */
  uploadLifeMs: z.number().int().nonnegative().optional(),
});
export type Switches = z.infer<typeof switchesSchema>;

/** Body of `POST /__sim/config`: any switch, or null to clear it. */
export const switchesPatchSchema = z.strictObject(
  Object.fromEntries(Object.entries(switchesSchema.shape).map(([key, schema]) => [key, schema.nullable()])) as {
    [K in keyof typeof switchesSchema.shape]: z.ZodNullable<(typeof switchesSchema.shape)[K]>;
  },
);
export type SwitchesPatch = z.infer<typeof switchesPatchSchema>;

export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
export const UNFINISHED: ReadonlySet<JobStatus> = new Set(['pending', 'processing']);

export interface SimJob {
  jobId: string;
  requestId: string;
  apiKey: string;
  /** Insertion order, used for list cursors. */
  seq: number;
  model: string;
  version: string | null;
  input: Record<string, unknown>;
  webhookUrl: string | null;
  status: JobStatus;
  costMicroCents: number;
  outputCount: number;
  width: number;
  height: number;
  /** Decided at submit: what the job will end as and how its webhook behaves. */
  outcome: 'completed' | 'failed';
  webhookMode: WebhookMode;
  error: { code: string; message: string } | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, undefined when none. */
  body: unknown;
  at: Date;
  /** null while in flight, or when the socket was destroyed without a response. */
  statusCode: number | null;
}

export interface RecordedDelivery {
  jobId: string;
  url: string;
  /** 1-based count of POSTs made for this job's webhook (duplicates included). */
  attempt: number;
  status?: number;
  error?: string;
  body: unknown;
  rawBody: string;
  timestamp: string;
  signature: string;
  /** True for the extra copies sent by the 'duplicate' mode. */
  duplicate: boolean;
  at: Date;
}

export const HTTP_WEBHOOKS = ['none', 'loopback', 'any'] as const;
export type HttpWebhooks = (typeof HTTP_WEBHOOKS)[number];

export interface SimulatorOptions {
  apiKeys?: string[];
  webhookSecret?: string;
  balanceMicroCents?: number;
  pendingMs?: number;
  processingMs?: number;
  webhookRetryDelaysMs?: number[];
  webhookTimeoutMs?: number;
  concurrencyLimit?: number;
  envelope?: 'flat' | 'wrapped';
  /**
   * Which plain-http webhook URLs submit accepts (PixelByte itself takes https only): `loopback` lets a local
   * pixelrelay be called back, `any` lets one on a private network (a compose stack) be, `none` is PixelByte's rule.
   */
  httpWebhooks?: HttpWebhooks;
  publicUrl?: string;
  /** How long outputs stay on the CDN after their job completed; unset keeps them for the simulator's life (see the switch). */
  outputTtlMs?: number;
  /** How long a presigned uploadUrl takes its PUT (PixelByte: 15 minutes). */
  uploadUrlTtlMs?: number;
  /** How long an uploaded file can be read before it is deleted (PixelByte: 60 minutes after the upload). */
  uploadLifeMs?: number;
  logger?: boolean | object;
}

type OptionalOptions = 'publicUrl' | 'outputTtlMs';
export type ResolvedOptions = Required<Omit<SimulatorOptions, OptionalOptions>> & { [K in OptionalOptions]: SimulatorOptions[K] | undefined };

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  return {
    apiKeys: options.apiKeys ?? ['pb_sim_key'],
    webhookSecret: options.webhookSecret ?? 'whsec_sim_secret',
    balanceMicroCents: options.balanceMicroCents ?? 1e12,
    pendingMs: options.pendingMs ?? 300,
    processingMs: options.processingMs ?? 700,
    webhookRetryDelaysMs: options.webhookRetryDelaysMs ?? [1_000, 4_000, 16_000, 64_000, 256_000],
    webhookTimeoutMs: options.webhookTimeoutMs ?? 30_000,
    concurrencyLimit: options.concurrencyLimit ?? Number.POSITIVE_INFINITY,
    envelope: options.envelope ?? 'flat',
    httpWebhooks: options.httpWebhooks ?? 'loopback',
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
    outputTtlMs: options.outputTtlMs,
    uploadUrlTtlMs: options.uploadUrlTtlMs ?? 15 * 60_000,
    uploadLifeMs: options.uploadLifeMs ?? 60 * 60_000,
    logger: options.logger ?? false,
  };
}
