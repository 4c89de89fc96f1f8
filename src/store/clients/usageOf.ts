import type { Db } from '../../infra/prisma.js';
import { literalList } from '../../infra/sql.js';
import { UPSTREAM_SLOT_HOLDERS } from '../edits/status.js';
import type { ClientQueueCounts, UsageReport } from './usage.js';

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
    queue: await clientQueueOf(db, clientId),
  };
}

/**
 * The client's waiting edits (its ClientQueue row, kept by triggers) and those holding an upstream slot (at most the
 * cap, counted from the edits). The slots' statuses are written into the statement: see store/edits/fairPick.ts.
 */
export async function clientQueueOf(db: Db, clientId: string): Promise<ClientQueueCounts> {
  const [queue] = await db.$queryRaw<ClientQueueCounts[]>`
    SELECT coalesce((SELECT "queued" FROM "ClientQueue" WHERE "clientId" = ${clientId}), 0)::int AS "queued",
           (SELECT count(*) FROM "Edit" WHERE "clientId" = ${clientId} AND "status" IN (${literalList(UPSTREAM_SLOT_HOLDERS)}))::int AS "inFlight"`;
  return { queued: queue?.queued ?? 0, inFlight: queue?.inFlight ?? 0 };
}
