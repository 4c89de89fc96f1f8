import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

const { sql, empty } = Prisma;
type Sql = Prisma.Sql;

export interface WebhookEventInsert {
  editId: string;
  upstreamJobId: string;
  status: string;
  rawBody: string;
  signedAt: Date;
}

/**
 * A webhook, stored unless this job+status was stored for this edit before (or `onlyIf` does not hold). Returns a row
 * when it was new. Also a step of a status move (moveEdit.ts), which stores the webhook that moves the edit.
 */
export function insertWebhookEvent(event: WebhookEventInsert, onlyIf?: Sql): Sql {
  return sql`
    INSERT INTO "WebhookEvent" ("editId", "upstreamJobId", "status", "rawBody", "signedAt", "receivedAt")
    SELECT ${event.editId}::uuid, ${event.upstreamJobId}, ${event.status}, ${event.rawBody}, ${event.signedAt}::timestamp(3), ${new Date()}::timestamp(3)
    ${onlyIf ? sql`WHERE ${onlyIf}` : empty}
    ON CONFLICT ("editId", "upstreamJobId", "status") DO NOTHING
    RETURNING "id"`;
}

/** Stores a verified webhook. Returns false when this job+status was stored for this edit before (a repeat delivery). */
export async function recordWebhook(db: Db, event: WebhookEventInsert): Promise<boolean> {
  return (await db.sql.rows(insertWebhookEvent(event))).length === 1;
}
