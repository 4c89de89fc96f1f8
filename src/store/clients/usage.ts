import { z } from 'zod';
import { invalidInput } from '../../errors.js';
import type { Db } from '../../infra/prisma.js';
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

export const usageReport = z.object({
  from: z.string(),
  to: z.string(),
  days: z.array(usageRow).describe('One row per day and model with any edits, oldest day first'),
  totals: z.object({ edits: z.number().int(), spentMicroCents: z.number().int(), pendingMicroCents: z.number().int() }),
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

/**
 * A client's spend by UTC day and model, read from its edits (through the (clientId, createdAt) index): the same
 * figures the budget ledger holds per day, split by model. A completed edit counts what PixelByte charged; a
 * failed or cancelled one nothing, as PixelByte refunds it.
 */
export async function usageOf(db: Db, clientId: string, range: { from: string; to: string }): Promise<UsageReport> {
  const rows = await db.$queryRaw<{ day: string; model: string; edits: number; completed: number; refunded: number; spent: bigint; pending: bigint }[]>`
    SELECT to_char("createdAt"::date, 'YYYY-MM-DD') AS day, "model",
      count(*)::int AS edits,
      (count(*) FILTER (WHERE "status" = 'completed'))::int AS completed,
      (count(*) FILTER (WHERE "status" IN ('failed', 'cancelled')))::int AS refunded,
      COALESCE(sum(COALESCE("costMicroCents", "estimatedCostMicroCents")) FILTER (WHERE "status" = 'completed'), 0)::bigint AS spent,
      COALESCE(sum(COALESCE("costMicroCents", "estimatedCostMicroCents")) FILTER (WHERE "status" NOT IN ('completed', 'failed', 'cancelled')), 0)::bigint AS pending
    FROM "Edit"
    WHERE "clientId" = ${clientId} AND "createdAt" >= ${range.from}::date AND "createdAt" < ${range.to}::date + 1
    GROUP BY 1, 2
    ORDER BY 1, 2`;
  const days = rows.map((r) => ({
    day: r.day,
    model: r.model,
    edits: r.edits,
    completed: r.completed,
    refunded: r.refunded,
    spentMicroCents: Number(r.spent),
    pendingMicroCents: Number(r.pending),
  }));
  return {
    ...range,
    days,
    totals: {
      edits: days.reduce((n, d) => n + d.edits, 0),
      spentMicroCents: days.reduce((n, d) => n + d.spentMicroCents, 0),
      pendingMicroCents: days.reduce((n, d) => n + d.pendingMicroCents, 0),
    },
  };
}
