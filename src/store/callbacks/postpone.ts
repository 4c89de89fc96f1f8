import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

const { sql } = Prisma;

/**
 * Gives back a claim that made no attempt (no slot was free for it): the delivery is due again at `nextAttemptAt`,
 * with nothing counted. Only the claim that set `leaseUntil` is given back, and only in its series. Returns
 * `applied`, 1 or 0.
 */
function postponeClaim(id: string, series: number, leaseUntil: Date, nextAttemptAt: Date, now: Date): Prisma.Sql {
  return sql`
    WITH postponed AS (
      UPDATE "CallbackDelivery" d SET "nextAttemptAt" = ${nextAttemptAt}::timestamp(3), "updatedAt" = ${now}::timestamp(3)
      WHERE d."id" = ${id} AND d."status" = 'pending' AND d."series" = ${series}::int4 AND d."nextAttemptAt" = ${leaseUntil}::timestamp(3)
      RETURNING d."id"
    )
    SELECT count(*)::int AS "applied" FROM postponed`;
}

/**
 * Hands back a claim that made no attempt: due again at `nextAttemptAt`, nothing counted. False when the delivery is
 * no longer held by that claim.
 */
export async function postpone(db: Db, id: string, series: number, leaseUntil: Date, nextAttemptAt: Date, now: Date): Promise<boolean> {
  const [row] = await db.sql.rows<{ applied: number }>(postponeClaim(id, series, leaseUntil, nextAttemptAt, now));
  return row?.applied === 1;
}
