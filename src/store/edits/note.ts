import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import type { EditStatus } from './status.js';

/**
 * Appends a history row that records an event without a status change (a retry, a poll, a warning), with its edit's
 * client as every history row has it. Nothing when the edit does not exist.
 */
export async function note(db: Db, editId: string, status: EditStatus, cause: string, upstreamCode?: string): Promise<void> {
  await db.sql.rows(Prisma.sql`
    INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", "cause", "upstreamCode", "at")
    SELECT e."id", e."clientId", ${status}::"EditStatus", ${status}::"EditStatus", ${cause}, ${upstreamCode ?? null}, ${new Date()}::timestamp(3)
    FROM "Edit" e WHERE e."id" = ${editId}::uuid`);
}
