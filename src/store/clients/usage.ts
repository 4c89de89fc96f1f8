import { z } from 'zod';
import { invalidInput } from '../../errors.js';
import { budgetDay } from './budgetDay.js';

const DAY_MS = 86_400_000;
/** The longest range one report covers: a year, leap day included. */
export const MAX_USAGE_DAYS = 366;
const DEFAULT_USAGE_DAYS = 30;

const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD')
  // Only real days: 2024-02-30 would otherwise roll into March.
  .refine((s) => s >= '2000-01-01' && s <= '9999-12-31' && !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().startsWith(s), 'is not a calendar day');

export const usageQuery = z
  .strictObject({
    from: isoDay.optional().describe(`First UTC day, inclusive (default: ${DEFAULT_USAGE_DAYS - 1} days before \`to\`)`),
    to: isoDay.optional().describe('Last UTC day, inclusive (default: today)'),
  })
  .describe(`At most ${MAX_USAGE_DAYS} days`);
export type UsageQuery = z.infer<typeof usageQuery>;

const usageRow = z.object({
  day: z.string().describe('UTC day, YYYY-MM-DD: the day the edits were accepted'),
  model: z.string(),
  edits: z.number().int().describe('Edits accepted'),
  completed: z.number().int(),
  refunded: z.number().int().describe('Edits that failed or were cancelled: PixelByte refunds them, so they cost nothing'),
  spentMicroCents: z.number().int().describe('What the completed edits cost (the charged figure, else the estimate)'),
  pendingMicroCents: z.number().int().describe('Edits not finished yet: the charged figure once PixelByte took them, else the estimate'),
});

/** A client's edits waiting for an upstream slot and holding one, counted now. */
export const clientQueue = z.object({
  queued: z.number().int().describe('Edits waiting for an upstream slot'),
  inFlight: z.number().int().describe('Edits holding one: being sent, or at PixelByte'),
});
export type ClientQueueCounts = z.infer<typeof clientQueue>;

export const usageReport = z.object({
  from: z.string(),
  to: z.string(),
  days: z.array(usageRow).describe('One row per day and model with any edits, oldest day first'),
  totals: z.object({ edits: z.number().int(), spentMicroCents: z.number().int(), pendingMicroCents: z.number().int() }),
  queue: clientQueue.describe('Now, whatever the range: this client’s share of the upstream cap'),
});
export type UsageReport = z.infer<typeof usageReport>;

/** Resolves the defaults and refuses a backwards or over-long range (INVALID_INPUT at `from`). */
export function usageRange(query: UsageQuery, now = new Date()): { from: string; to: string } {
  const to = query.to ?? budgetDay(now);
  const from = query.from ?? budgetDay(new Date(Date.parse(to) - (DEFAULT_USAGE_DAYS - 1) * DAY_MS));
  if (from > to) throw invalidInput('The query is invalid', [{ path: 'from', message: 'must not be after `to`' }]);
  if ((Date.parse(to) - Date.parse(from)) / DAY_MS + 1 > MAX_USAGE_DAYS) {
    throw invalidInput('The query is invalid', [{ path: 'from', message: `the range must be at most ${MAX_USAGE_DAYS} days` }]);
  }
  return { from, to };
}
