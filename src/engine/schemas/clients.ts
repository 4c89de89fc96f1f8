import { z } from 'zod';
import { storableString } from '../../shared/safeText.js';

// Shared by the admin routes and the client service (engine/clients), which takes and returns these shapes; what
// only one route uses is declared in that route's file.

/** The largest daily budget accepted: $1,000,000,000, well inside a JSON number's exact integers. */
export const MAX_BUDGET_MICRO_CENTS = 1_000_000_000_000_000;
export const MAX_RATE_LIMIT_PER_MINUTE = 1_000_000;

const name = storableString()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .describe('Who the client is, e.g. the calling service; shown to operators only');
const dailyBudget = z
  .number()
  .int()
  .min(0)
  .max(MAX_BUDGET_MICRO_CENTS)
  .describe('Spend cap per UTC day in micro-cents (1,000,000 = $1); edits that would cross it get 402 BUDGET_EXCEEDED');
const rateLimit = z.number().int().min(1).max(MAX_RATE_LIMIT_PER_MINUTE).describe('Requests per minute over all /v1 routes; more get 429 RATE_LIMITED');

export const MAX_WEIGHT = 1_000;
export const MAX_CLIENT_CONCURRENCY = 100_000;
export const MAX_CLIENT_QUEUED = 100_000_000;

const weight = z
  .number()
  .int()
  .min(1)
  .max(MAX_WEIGHT)
  .describe("Its share of the upstream slots while other clients are busy too: weight 2 gets twice a weight 1's (default 1)");
const maxConcurrency = z
  .number()
  .int()
  .min(1)
  .max(MAX_CLIENT_CONCURRENCY)
  .describe('Slots at PixelByte it may hold at once, under UPSTREAM_MAX_CONCURRENCY; unset: no cap of its own');
const maxQueued = z
  .number()
  .int()
  .min(1)
  .max(MAX_CLIENT_QUEUED)
  .describe('Edits it may have waiting at once; past it POST /v1/edits answers 429 QUEUE_FULL and stores nothing');

export const createClientBody = z.strictObject({
  name,
  dailyBudgetMicroCents: dailyBudget.optional(),
  rateLimitPerMinute: rateLimit.optional(),
  weight: weight.optional(),
  maxConcurrency: maxConcurrency.optional(),
  maxQueued: maxQueued.optional(),
});
export type CreateClientBody = z.infer<typeof createClientBody>;

/** `null` removes a budget, a rate limit or a queue limit. */
export const updateClientBody = z
  .strictObject({
    name: name.optional(),
    dailyBudgetMicroCents: dailyBudget.nullable().optional(),
    rateLimitPerMinute: rateLimit.nullable().optional(),
    weight: weight.optional(),
    maxConcurrency: maxConcurrency.nullable().optional(),
    maxQueued: maxQueued.nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'name at least one field to change');
export type UpdateClientBody = z.infer<typeof updateClientBody>;

const timestamp = z.string().describe('ISO 8601, UTC');

export const apiKeyView = z.object({
  id: z.string(),
  prefix: z.string().describe('The start of the key (prk_live_<key id>): enough to recognise it, not to use it'),
  createdAt: timestamp,
  revokedAt: timestamp.nullable(),
  lastUsedAt: timestamp.nullable().describe('Updated at most once a minute'),
});

export const clientView = z.object({
  id: z.string(),
  name: z.string(),
  dailyBudgetMicroCents: z.number().int().nullable(),
  rateLimitPerMinute: z.number().int().nullable(),
  weight: z.number().int(),
  maxConcurrency: z.number().int().nullable(),
  maxQueued: z.number().int().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  keys: z.array(apiKeyView),
});
export type ClientView = z.infer<typeof clientView>;

export const clientDetail = clientView.extend({
  today: z.object({
    day: z.string().describe('The UTC day, YYYY-MM-DD'),
    spentMicroCents: z.number().int().describe("Held against today's budget: estimates of edits in flight, the charged cost of completed ones"),
    remainingMicroCents: z.number().int().nullable().describe('Null without a budget'),
  }),
});
export type ClientDetail = z.infer<typeof clientDetail>;
