import type { CallbackDelivery, CallbackStatus, Edit } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import { listColumns, pickColumns, type Row } from '../../infra/sql.js';
import { EDIT_COLUMNS } from '../edits/columns.js';

/**
 * The SQL of a delivery attempt, one statement per step, run through infra/sql.ts: the claim (which also reads the
 * delivery and its edit), the record of the outcome, and the postponement of a claim that found no free slot. A
 * delivery used to cost five round trips through Prisma; the callback worker fell behind the edits it was telling
 * clients about. Each statement re-checks the row it changes, so the guarded updates keep their guarantees: of two
 * workers claiming one delivery exactly one gets it, an outcome is never written over a delivery that has been
 * restarted into a new series, and a postponement gives back only its own claim.
 */

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
export function claimDueDelivery(id: string, now: Date, leaseUntil: Date): Sql {
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

export function claimResultOf(row: Row | undefined, now: Date): ClaimResult {
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
 * Gives back a claim that made no attempt (no slot was free for it): the delivery is due again at `nextAttemptAt`,
 * with nothing counted. Only the claim that set `leaseUntil` is given back, and only in its series. Returns
 * `applied`, 1 or 0.
 */
export function postponeClaim(id: string, series: number, leaseUntil: Date, nextAttemptAt: Date, now: Date): Sql {
  return sql`
    WITH postponed AS (
      UPDATE "CallbackDelivery" d SET "nextAttemptAt" = ${nextAttemptAt}::timestamp(3), "updatedAt" = ${now}::timestamp(3)
      WHERE d."id" = ${id} AND d."status" = 'pending' AND d."series" = ${series}::int4 AND d."nextAttemptAt" = ${leaseUntil}::timestamp(3)
      RETURNING d."id"
    )
    SELECT count(*)::int AS "applied" FROM postponed`;
}

export interface AttemptRecord {
  series: number;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode?: number;
  error?: string;
}

/** What an attempt changed about its delivery. */
export type AttemptVerdict =
  | { status: 'delivered'; lastError?: undefined }
  | { status: 'failed'; lastError: string }
  | { status: 'pending'; lastError: string; nextAttemptAt: Date };

/**
 * Stores an attempt, and its verdict on the delivery if the delivery is still pending in the attempt's series (a
 * redelivery may have started a new one meanwhile: the attempt is kept in the log, the new series is left alone).
 * One statement text for every verdict: what a verdict does not set is kept by `coalesce`. Returns `applied`, 1 or 0.
 */
export function recordAttempt(deliveryId: string, attempt: AttemptRecord, verdict: AttemptVerdict, now: Date): Sql {
  const deliveredAt = verdict.status === 'delivered' ? now : null;
  const nextAttemptAt = verdict.status === 'pending' ? verdict.nextAttemptAt : null;
  return sql`
    WITH attempt AS (
      INSERT INTO "CallbackAttempt" ("deliveryId", "series", "attempt", "startedAt", "durationMs", "statusCode", "error")
      VALUES (${deliveryId}, ${attempt.series}::int4, ${attempt.attempt}::int4, ${attempt.startedAt}::timestamp(3), ${attempt.durationMs}::int4,
              ${attempt.statusCode ?? null}::int4, ${attempt.error ?? null}::text)
    ),
    judged AS (
      UPDATE "CallbackDelivery" d
      SET "status" = ${verdict.status}::"CallbackStatus", "attempts" = d."attempts" + 1, "seriesAttempts" = d."seriesAttempts" + 1,
          "lastError" = coalesce(${verdict.lastError ?? null}::text, d."lastError"),
          "deliveredAt" = coalesce(${deliveredAt}::timestamp(3), d."deliveredAt"),
          "nextAttemptAt" = coalesce(${nextAttemptAt}::timestamp(3), d."nextAttemptAt"),
          "updatedAt" = ${now}::timestamp(3)
      WHERE d."id" = ${deliveryId} AND d."status" = 'pending' AND d."series" = ${attempt.series}::int4
      RETURNING d."id"
    )
    SELECT count(*)::int AS "applied" FROM judged`;
}
