import { AppError } from '../../../errors.js';
import type { Edit } from '../../../generated/prisma/client.js';
import { Prisma } from '../../../generated/prisma/client.js';
import type { Db } from '../../../infra/prisma.js';
import { isUuid } from '../../../shared/ids.js';
import { budgetDay } from '../../clients/budgetDay.js';
import type { CreateHook } from '../insertEdits.js';

/**
 * Registered clients have UUIDs; a bootstrap key's client (API_KEYS) is a `key_…` fingerprint and has no budget
 * (onTerminalMove/settleBudget.ts tells them apart the same way).
 */
const hasLedger = (edit: Edit): boolean => isUuid(edit.clientId);

const budgetExceeded = (remainingMicroCents: number) =>
  new AppError('BUDGET_EXCEEDED', "This edit would exceed the client's daily budget; nothing was stored", { remainingMicroCents });

/**
 * The budgets feature's part in storing an edit (registered on the EditRepository at start-up): its estimated
 * cost is added to the client's row for the day by one guarded upsert in the edit's own statement, which stores
 * the edit only if the upsert returned a row. The row lock makes concurrent accepts of one client take turns, and
 * the guard is re-checked on the row each finds, so two requests can never both squeeze under the cap. Over the
 * cap, nothing is stored and the refusal says how much of the day's budget is left.
 * The guard reads the budget as it is now (a PATCH holds at once); `<= ALL` of no rows (no budget) is true.
 * Clients without a budget keep a ledger too, so a budget set mid-day counts what the day already holds.
 */
export const reserveBudget = (db: Db): CreateHook => ({
  gate: (edit) => {
    if (!hasLedger(edit)) return null;
    const cost = BigInt(edit.estimatedCostMicroCents);
    return Prisma.sql`
      INSERT INTO "ClientDailySpend" AS s ("clientId", "day", "reservedMicroCents")
      SELECT c."id", ${budgetDay(edit.createdAt)}::date, ${cost}::int8 FROM "Client" c
      WHERE c."id" = ${edit.clientId}::uuid AND (c."dailyBudgetMicroCents" IS NULL OR ${cost}::int8 <= c."dailyBudgetMicroCents")
      ON CONFLICT ("clientId", "day") DO UPDATE SET "reservedMicroCents" = s."reservedMicroCents" + EXCLUDED."reservedMicroCents"
      WHERE s."reservedMicroCents" + EXCLUDED."reservedMicroCents" <= ALL (
        SELECT "dailyBudgetMicroCents" FROM "Client" WHERE "id" = s."clientId" AND "dailyBudgetMicroCents" IS NOT NULL
      )
      RETURNING s."reservedMicroCents"`;
  },
  refusal: async (edit) => {
    const [state] = await db.$queryRaw<{ budget: bigint | null; reserved: bigint | null }[]>`
      SELECT c."dailyBudgetMicroCents" AS budget, s."reservedMicroCents" AS reserved
      FROM "Client" c LEFT JOIN "ClientDailySpend" s ON s."clientId" = c."id" AND s."day" = ${budgetDay(edit.createdAt)}::date
      WHERE c."id" = ${edit.clientId}::uuid`;
    const remaining = (state?.budget ?? 0n) - (state?.reserved ?? 0n);
    return budgetExceeded(Number(remaining > 0n ? remaining : 0n));
  },
});
