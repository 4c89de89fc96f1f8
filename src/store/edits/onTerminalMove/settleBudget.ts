import { Prisma } from '../../../generated/prisma/client.js';
import type { MovedColumn, TerminalMoveHook } from '../moveEdit.js';

// A registered client's id is a UUID (see hasLedger in onCreate/reserveBudget.ts); a bootstrap key's fingerprint is
// not, and is never cast.
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/**
 * The budgets feature's part in an edit's terminal move, in the move's own statement: a failed or cancelled edit
 * gives its reservation back (PixelByte refunds those), a completed one swaps its estimate for what PixelByte says
 * it charged. The ledger's day is the edit's accepted day, as budgetDay counts it. Writes no outbox rows.
 */
export const settleBudget: TerminalMoveHook = {
  sql: (moved) => {
    const c = (name: MovedColumn) => moved.column(name);
    return Prisma.sql`
    UPDATE "ClientDailySpend" s SET "reservedMicroCents" = s."reservedMicroCents" + m."delta"
    FROM (
      SELECT CASE WHEN ${c('clientId')} ~* ${UUID_PATTERN} THEN ${c('clientId')}::uuid END AS "clientId", ${c('createdAt')}::date AS "day",
             CASE WHEN ${c('status')} = 'completed' THEN coalesce(${c('costMicroCents')}, ${c('estimatedCostMicroCents')}) - ${c('estimatedCostMicroCents')}
                  ELSE -${c('estimatedCostMicroCents')} END AS "delta"
      FROM ${moved.from()}
    ) m
    WHERE s."clientId" = m."clientId" AND s."day" = m."day" AND m."delta" <> 0`;
  },
};
