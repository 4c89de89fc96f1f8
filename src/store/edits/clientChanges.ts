import type { Edit } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import type { EditStatus } from './status.js';

/**
 * A client's status changes, across all its edits, in the order of GET /v1/events: by ("eventXid", "id"). See
 * engine/watch/clientEvents.ts for why that order can be resumed without a gap.
 */

/** Where a client's event stream stands: every change at or before it was sent. */
export interface ChangePosition {
  xid: bigint;
  id: bigint;
}

export interface ClientChange extends ChangePosition {
  editId: string;
  to: EditStatus;
  at: Date;
}

export interface ClientChangesRead {
  /** The changes after the position, in order, visible to the statement's snapshot (notes left out). */
  changes: ClientChange[];
  /**
   * The snapshot's xmin: every transaction with a lower id had ended when the statement ran, so every change whose
   * eventXid is below it is in `changes` (up to the limit) or will never exist.
   */
  horizon: bigint;
}

interface ChangeRow {
  horizon: string;
  id: bigint | null;
  xid: string | null;
  editId: string | null;
  to: EditStatus | null;
  at: Date | null;
  [column: string]: unknown;
}

/**
 * One statement, so that the horizon is the xmin of the very snapshot the rows were read in (pg_current_snapshot()
 * is the statement's active snapshot): were they two, a transaction committing between them would sit below the
 * horizon yet be missing from the rows. The index ("clientId", "eventXid", "id") serves the row comparison.
 */
export async function clientChanges(db: Db, clientId: string, after: ChangePosition, limit: number): Promise<ClientChangesRead> {
  const rows = await db.sql.rows<ChangeRow>(Prisma.sql`
    WITH snapshot AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS "horizon")
    SELECT s."horizon"::text AS "horizon", t."id", t."eventXid"::text AS "xid", t."editId", t."toStatus" AS "to", t."at"
    FROM snapshot s
    LEFT JOIN LATERAL (
      SELECT t."id", t."eventXid", t."editId", t."toStatus", t."at" FROM "EditTransition" t
      WHERE t."clientId" = ${clientId} AND (t."eventXid", t."id") > (${after.xid.toString()}::xid8, ${after.id}::int8)
        AND t."fromStatus" IS DISTINCT FROM t."toStatus"
      ORDER BY t."eventXid", t."id"
      LIMIT ${limit}::int4
    ) t ON true
    ORDER BY t."eventXid", t."id"`);
  const horizon = BigInt(rows[0]?.horizon ?? 0);
  const changes = rows.flatMap((row) =>
    row.id === null || row.xid === null ? [] : [{ id: row.id, xid: BigInt(row.xid), editId: row.editId!, to: row.to!, at: row.at! }],
  );
  return { changes, horizon };
}

/** The client's own edits among `ids`: anyone else's are not found. */
export function findManyOwned(db: Db, ids: string[], clientId: string): Promise<Edit[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.edit.findMany({ where: { id: { in: ids }, clientId } });
}

/**
 * How many history rows each of `ids` has (absent: none), by the (editId, id) index: what the wake-ups' periodic
 * check compares between two rounds, so that only the watchers of an edit that changed read it again.
 */
export async function historyCounts(db: Db, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db.sql.rows<{ editId: string; n: number }>(Prisma.sql`
    SELECT t."editId"::text AS "editId", count(*)::int AS "n" FROM "EditTransition" t
    WHERE t."editId" = ANY(${ids}::uuid[]) GROUP BY t."editId"`);
  return new Map(rows.map((row) => [row.editId, row.n]));
}
