import type { CallbackDelivery, CallbackStatus, Edit } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { listColumns, pickColumns, type Row } from '../../infra/sql.js';
import { EDIT_COLUMNS } from '../edits/columns.js';

const { sql } = Prisma;
type Sql = Prisma.Sql;

const DELIVERY_COLUMNS = Object.values(Prisma.CallbackDeliveryScalarFieldEnum);

// Built once: the claim runs for every delivery, and its column lists never change. A delivery and its edit share a
// row and both have `id`, hence the prefixes.
const CLAIMED_COLUMNS = listColumns('d', DELIVERY_COLUMNS);
const DELIVERY_RESULT_COLUMNS = listColumns('claimed', DELIVERY_COLUMNS, 'delivery.');
const EDIT_RESULT_COLUMNS = listColumns('e', EDIT_COLUMNS, 'edit.');

/**
 * Takes a due delivery for one attempt by pushing its nextAttemptAt out to `leaseUntil` (another worker running the
 * same job after a stall then finds it not due), and reads it with its edit. The row as it was (`found…`) comes
 * back too, so that a delivery nobody could claim tells why. No row when the delivery does not exist.
 */
function claimDueDelivery(id: string, now: Date, leaseUntil: Date): Sql {
  return sql`
    WITH found AS (SELECT d."status", d."nextAttemptAt" FROM "CallbackDelivery" d WHERE d."id" = ${id}),
    claimed AS (
      UPDATE "CallbackDelivery" d SET "nextAttemptAt" = ${leaseUntil}::timestamp(3), "updatedAt" = ${now}::timestamp(3)
      WHERE d."id" = ${id} AND d."status" = 'pending' AND d."nextAttemptAt" <= ${now}::timestamp(3)
      RETURNING ${CLAIMED_COLUMNS}
    )
    SELECT found."status" AS "foundStatus", found."nextAttemptAt" AS "foundNextAttemptAt",
           ${DELIVERY_RESULT_COLUMNS}, ${EDIT_RESULT_COLUMNS}
    FROM found
    LEFT JOIN claimed ON true
    LEFT JOIN "Edit" e ON e."id" = claimed."editId"`;
}

/** Why a delivery could not be claimed, or what the claim got. */
export type ClaimResult =
  | { kind: 'claimed'; delivery: CallbackDelivery; edit: Edit | null }
  | { kind: 'missing' }
  | { kind: 'over'; status: CallbackStatus }
  | { kind: 'not-due'; waitMs: number }
  /** Due, but another worker claimed it first (or recorded an outcome) while this statement ran. */
  | { kind: 'taken' };

function claimResultOf(row: Row | undefined, now: Date): ClaimResult {
  if (!row) return { kind: 'missing' };
  if (row['delivery.id'] !== null) {
    return {
      kind: 'claimed',
      delivery: pickColumns<CallbackDelivery>(row, DELIVERY_COLUMNS, 'delivery.'),
      edit: row['edit.id'] === null ? null : pickColumns<Edit>(row, EDIT_COLUMNS, 'edit.'),
    };
  }
  const status = row.foundStatus as CallbackStatus;
  if (status !== 'pending') return { kind: 'over', status };
  const waitMs = (row.foundNextAttemptAt as Date).getTime() - now.getTime();
  return waitMs > 0 ? { kind: 'not-due', waitMs } : { kind: 'taken' };
}

/**
 * Claims the delivery for one attempt if it is pending and due at `now`, holding it until `leaseUntil`, and reads it
 * with its edit; otherwise says why not. Of two workers claiming one delivery exactly one gets it.
 */
export async function claimDue(db: Db, id: string, now: Date, leaseUntil: Date): Promise<ClaimResult> {
  const [row] = await db.sql.rows(claimDueDelivery(id, now, leaseUntil));
  return claimResultOf(row, now);
}
