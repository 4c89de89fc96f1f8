import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

const { sql } = Prisma;

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
function recordAttemptStatement(deliveryId: string, attempt: AttemptRecord, verdict: AttemptVerdict, now: Date): Prisma.Sql {
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

/** Stores the attempt and its consequence together. False when the delivery had left that series (or pending). */
export async function recordAttempt(db: Db, deliveryId: string, attempt: AttemptRecord, verdict: AttemptVerdict, now: Date): Promise<boolean> {
  const [row] = await db.sql.rows<{ applied: number }>(recordAttemptStatement(deliveryId, attempt, verdict, now));
  return row?.applied === 1;
}
