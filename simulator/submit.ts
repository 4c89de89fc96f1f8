import { z } from 'zod';
import type { SimulatorContext } from './context.js';
import { invalidInput, SimError } from './errors.js';
import type { SubmitPlan } from './faults.js';
import { findSimModel, MODEL_SLUG_PATTERN } from './models.js';
import type { HttpWebhooks, SimJob } from './types.js';

// Strict at the top level too: a misspelt `webhookURL` must fail loudly, not silently lose every webhook.
const submitBody = z.strictObject({
  model: z.string({ error: 'is required' }),
  version: z.string().min(1).max(100).optional(),
  input: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
  webhookUrl: z.string().optional(),
});

export function issuesOf(error: z.ZodError, prefix: string[] = []) {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map(String)].join('.') || '(body)',
    message: issue.message,
  }));
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function checkWebhookUrl(raw: string, httpWebhooks: HttpWebhooks): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SimError(400, 'INVALID_WEBHOOK_URL', 'webhookUrl is not a valid URL');
  }
  if (raw.length > 2048) throw new SimError(400, 'INVALID_WEBHOOK_URL', 'webhookUrl must be at most 2048 characters');
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (httpWebhooks === 'any' || (httpWebhooks === 'loopback' && LOOPBACK.test(url.hostname)))) return;
  throw new SimError(400, 'INVALID_WEBHOOK_URL', 'webhookUrl must be an https URL');
}

/**
 * Validates a submit, enforces the concurrency limit and the balance, then creates, charges and starts
 * the job. Throws SimError for everything PixelByte would reject, in which case nothing is charged.
 */
export function acceptSubmit(ctx: SimulatorContext, args: { apiKey: string; requestId: string; body: unknown; plan: SubmitPlan }): SimJob {
  const parsed = submitBody.safeParse(args.body ?? {});
  if (!parsed.success) throw invalidInput('Request body is invalid', issuesOf(parsed.error));
  const { model: slug, version, input, webhookUrl } = parsed.data;

  if (!MODEL_SLUG_PATTERN.test(slug)) throw new SimError(400, 'INVALID_MODEL_SLUG', `"${slug}" is not a valid model slug`);
  const model = findSimModel(slug);
  if (!model) throw new SimError(404, 'MODEL_NOT_FOUND', `Model ${slug} not found`);
  if (webhookUrl !== undefined) checkWebhookUrl(webhookUrl, ctx.options.httpWebhooks);

  const parsedInput = model.input.safeParse(input);
  if (!parsedInput.success) throw invalidInput(`Input is invalid for ${slug}`, issuesOf(parsedInput.error, ['input']));
  const normalised = parsedInput.data;

  const { concurrencyLimit, pendingMs, processingMs } = ctx.options;
  if (ctx.store.unfinishedFor(args.apiKey) >= concurrencyLimit) {
    throw new SimError(429, 'CONCURRENT_JOBS_EXCEEDED', `At most ${concurrencyLimit} unfinished jobs are allowed`, {
      retryAfter: Math.max(1, Math.ceil((pendingMs + processingMs) / 1000)),
      limit: concurrencyLimit,
    });
  }
  const cost = model.priceMicroCents(normalised);
  if (!ctx.ledger.canAfford(cost)) {
    throw new SimError(402, 'INSUFFICIENT_BALANCE', 'Insufficient balance for this job', {
      requiredMicroCents: cost,
      balanceMicroCents: ctx.ledger.balanceMicroCents,
    });
  }

  // PixelByte takes the job and charges it whatever its images; one it cannot read fails the job (and is refunded).
  const outcome = imageUrlsOf(normalised).some((url) => ctx.uploads.isUnreadableFileUrl(url, ctx.baseUrl())) ? 'failed' : args.plan.outcome;
  ctx.ledger.charge(cost);
  const job = ctx.store.create({
    requestId: args.requestId,
    apiKey: args.apiKey,
    model: slug,
    version: version ?? null,
    input: normalised,
    webhookUrl: webhookUrl ?? null,
    costMicroCents: cost,
    outputCount: model.outputCount(normalised),
    ...model.dimensions(normalised),
    outcome,
    webhookMode: args.plan.webhookMode,
  });
  ctx.lifecycle.start(job);
  return job;
}

/** The source images of an input: `image_urls`, or the one `image_url` of the models that take a single image. */
function imageUrlsOf(input: Record<string, unknown>): string[] {
  const { image_urls: list, image_url: one } = input;
  return [...(Array.isArray(list) ? list : []), ...(typeof one === 'string' ? [one] : [])].filter((url): url is string => typeof url === 'string');
}
