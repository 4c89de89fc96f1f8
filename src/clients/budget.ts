import type { CreateHook, Edit, TerminalMoveHook } from '../edits/repository.js';
import { AppError } from '../errors.js';
import { isUuid } from '../shared/ids.js';

/** The UTC day (YYYY-MM-DD) an edit's cost counts towards: the day it was accepted. */
export const budgetDay = (at: Date): string => at.toISOString().slice(0, 10);

/** Registered clients have UUIDs; a bootstrap key's client (API_KEYS) is a `key_…` fingerprint and has no budget. */
const hasLedger = (edit: Edit): boolean => isUuid(edit.clientId);

const budgetExceeded = (remainingMicroCents: number) =>
  new AppError(402, 'BUDGET_EXCEEDED', "This edit would exceed the client's daily budget; nothing was stored", { remainingMicroCents });

/**
 * The budgets feature's part in storing an edit (registered on the EditRepository at start-up): its estimated
 * cost is added to the client's row for the day by one guarded upsert in the edit's own transaction. The row
 * lock makes concurrent accepts of one client take turns, and the guard is re-checked on the row each finds,
 * so two requests can never both squeeze under the cap. Over the cap, it throws and the edit is not stored.
 * The guard reads the budget as it is now (a PATCH holds at once); `<= ALL` of no rows (no budget) is true.
 * Clients without a budget keep a ledger too, so a budget set mid-day counts what the day already holds.
 */
export const reserveBudget: CreateHook = async (tx, edit) => {
  if (!hasLedger(edit)) return;
  const day = budgetDay(edit.createdAt);
  const cost = BigInt(edit.estimatedCostMicroCents);
  const reserved = await tx.$queryRaw<{ reservedMicroCents: bigint }[]>`
    INSERT INTO "ClientDailySpend" AS s ("clientId", "day", "reservedMicroCents")
    SELECT c."id", ${day}::date, ${cost} FROM "Client" c
    WHERE c."id" = ${edit.clientId}::uuid AND (c."dailyBudgetMicroCents" IS NULL OR ${cost} <= c."dailyBudgetMicroCents")
    ON CONFLICT ("clientId", "day") DO UPDATE SET "reservedMicroCents" = s."reservedMicroCents" + EXCLUDED."reservedMicroCents"
    WHERE s."reservedMicroCents" + EXCLUDED."reservedMicroCents" <= ALL (
      SELECT "dailyBudgetMicroCents" FROM "Client" WHERE "id" = s."clientId" AND "dailyBudgetMicroCents" IS NOT NULL
    )
    RETURNING s."reservedMicroCents"`;
  if (reserved.length === 1) return;
  const [state] = await tx.$queryRaw<{ budget: bigint | null; reserved: bigint | null }[]>`
    SELECT c."dailyBudgetMicroCents" AS budget, s."reservedMicroCents" AS reserved
    FROM "Client" c LEFT JOIN "ClientDailySpend" s ON s."clientId" = c."id" AND s."day" = ${day}::date
    WHERE c."id" = ${edit.clientId}::uuid`;
  const remaining = (state?.budget ?? 0n) - (state?.reserved ?? 0n);
  throw budgetExceeded(Number(remaining > 0n ? remaining : 0n));
};

/**
 * The budgets feature's part in an edit's terminal move: a failed or cancelled edit gives its reservation back
 * (PixelByte refunds those), a completed one swaps its estimate for what PixelByte says it charged.
 * Writes no outbox rows.
 */
export const settleBudget: TerminalMoveHook = async (tx, edit) => {
  if (!hasLedger(edit)) return [];
  const estimate = edit.estimatedCostMicroCents;
  const delta = edit.status === 'completed' ? (edit.costMicroCents ?? estimate) - estimate : -estimate;
  if (delta !== 0) {
    await tx.$executeRaw`
      UPDATE "ClientDailySpend" SET "reservedMicroCents" = "reservedMicroCents" + ${BigInt(delta)}
      WHERE "clientId" = ${edit.clientId}::uuid AND "day" = ${budgetDay(edit.createdAt)}::date`;
  }
  return [];
};
