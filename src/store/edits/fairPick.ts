import { Prisma } from '../../generated/prisma/client.js';
import { literalList } from '../../infra/sql.js';
import { UPSTREAM_SLOT_HOLDERS } from './status.js';

/**
 * Which queued edit takes a free upstream slot, read under the slots' advisory lock (claimSubmit.ts). The client with
 * the smallest weighted share of the slots it holds now (inFlight / weight) goes first, and on a tie the one the pick
 * served longest ago; within that client, its highest priority, then its oldest edit. A client at its maxConcurrency
 * is passed over. ClientQueue (kept by triggers on Edit) names the clients with edits waiting, one row each; the
 * slots each holds are counted from the few edits holding one; the edit comes from the (clientId, status, priority,
 * createdAt) index, so the backlog is never scanned.
 *
 * No client waits for ever: while a client waits, its share only falls (its jobs finish, none start), down to 0. At
 * share 0 it is passed over only by other clients at share 0 served before it; each of those, once served, ranks
 * behind it until its own share is back to 0, and by then its lastServedAt is later than the waiting client's. So
 * after at most one pick per other client, it is served.
 */

const { sql } = Prisma;

export interface FairPickQuery {
  /** The job's own edit: the pick is made only while it is still waiting (else its job has other business). */
  editId: string;
  maxInFlight: number;
  now: Date;
}

export type FairPickRow = {
  /** Edits holding a slot, this job's own edit aside. */
  inFlight: number;
  /** The job's own edit is queued and was never sent. */
  waiting: boolean;
  /** The edit to send now, when a slot is free and some client may take it; may be another edit than the job's. */
  picked: string | null;
};

/**
 * Counts the slots taken and, with one free, picks the edit and marks its client served, in one statement. The
 * statuses are written into the statement, not bound: a prepared statement's generic plan cannot know a bound list is
 * three rare statuses, and counts them by scanning every edit.
 */
export function fairPick(q: FairPickQuery): Prisma.Sql {
  const holders = literalList(UPSTREAM_SLOT_HOLDERS);
  return sql`
    WITH this AS MATERIALIZED (
      SELECT EXISTS (
        SELECT 1 FROM "Edit" e WHERE e."id" = ${q.editId}::uuid AND e."status" = 'queued' AND e."upstreamJobId" IS NULL
          AND NOT EXISTS (SELECT 1 FROM "SubmitAttempt" a WHERE a."editId" = e."id")
      ) AS "waiting"
    ),
    -- The slots' holders are few (at most the cap, and a submit or two past it): read from the status index.
    holders AS MATERIALIZED (
      SELECT "clientId" FROM "Edit" WHERE "status" IN (${holders}) AND "id" <> ${q.editId}::uuid
    ),
    slots AS MATERIALIZED (SELECT count(*)::int AS "inFlight" FROM holders),
    held AS (SELECT "clientId", count(*)::int AS "n" FROM holders GROUP BY "clientId"),
    fair AS (
      SELECT q."clientId", coalesce(h."n", 0)::float8 / greatest(coalesce(c."weight", 1), 1) AS "share", q."lastServedAt"
      FROM "ClientQueue" q
        LEFT JOIN "Client" c ON c."id"::text = q."clientId"
        LEFT JOIN held h ON h."clientId" = q."clientId"
      WHERE q."queued" > 0 AND (c."maxConcurrency" IS NULL OR coalesce(h."n", 0) < c."maxConcurrency")
        AND (SELECT "waiting" FROM this) AND (SELECT "inFlight" FROM slots) < ${q.maxInFlight}::int
      ORDER BY "share", q."lastServedAt" ASC NULLS FIRST, q."clientId"
    ),
    pick AS MATERIALIZED (
      SELECT fair."clientId", next."id"
      FROM fair CROSS JOIN LATERAL (
        SELECT e."id" FROM "Edit" e
        WHERE e."clientId" = fair."clientId" AND e."status" = 'queued' AND e."upstreamJobId" IS NULL
          AND (e."deadlineAt" IS NULL OR e."deadlineAt" > ${q.now}::timestamp(3))
        ORDER BY e."priority", e."createdAt", e."id"
        LIMIT 1
      ) next
      ORDER BY fair."share", fair."lastServedAt" ASC NULLS FIRST, fair."clientId"
      LIMIT 1
    ),
    -- The database's clock, not the worker's: workers on hosts whose clocks differ still serve in turn.
    served AS (
      UPDATE "ClientQueue" q SET "lastServedAt" = clock_timestamp() AT TIME ZONE 'UTC' FROM pick WHERE q."clientId" = pick."clientId" RETURNING 1
    )
    SELECT (SELECT "inFlight" FROM slots) AS "inFlight", (SELECT "waiting" FROM this) AS "waiting",
           (SELECT "id"::text FROM pick) AS "picked", (SELECT count(*) FROM served) AS "served"`;
}
