import type { Edit } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import type { Row } from '../../infra/sql.js';
import { EDIT_COLUMN_LIST, editOf, UNCERTAIN } from './columns.js';

const { sql } = Prisma;

/** The edit, what its submits say about which jobs can be its, and which edit holds `jobId`, read in one snapshot. */
function editForWebhook(editId: string, jobId: string): Prisma.Sql {
  return sql`
    SELECT ${EDIT_COLUMN_LIST}, a."count" AS "attemptCount", coalesce(a."tokenized", false) AS "anyTokenized",
           coalesce(a."uncertain", false) AS "anyUncertain",
           (SELECT o."id" FROM "Edit" o WHERE o."upstreamJobId" = ${jobId}) AS "jobOwnerId"
    FROM "Edit" e
    LEFT JOIN LATERAL (
      SELECT count(*)::int AS "count", bool_or(s."tokenizedWebhookUrl") AS "tokenized", bool_or(s."outcome" IN (${UNCERTAIN})) AS "uncertain"
      FROM "SubmitAttempt" s WHERE s."editId" = e."id"
    ) a ON true
    WHERE e."id" = ${editId}::uuid`;
}

export interface SubmitsOfEdit {
  /** How many submits were recorded. */
  count: number;
  /** Any of them sent the tokenized webhook URL. */
  anyTokenized: boolean;
  /** Any of them may have created a job nobody has heard of (in flight, or its answer lost). */
  anyUncertain: boolean;
}

export interface EditForWebhook {
  edit: Edit;
  submits: SubmitsOfEdit;
  /** The edit that holds the webhook's job, if any (possibly this one). */
  jobOwnerId: string | null;
}

const editForWebhookOf = (row: Row): EditForWebhook => ({
  edit: editOf(row),
  submits: { count: row.attemptCount as number, anyTokenized: row.anyTokenized as boolean, anyUncertain: row.anyUncertain as boolean },
  jobOwnerId: row.jobOwnerId as string | null,
});

/** The edit a webhook names, with what its submits say and which edit holds the webhook's job, in one read. */
export async function findForWebhook(db: Db, editId: string, jobId: string): Promise<EditForWebhook | null> {
  const [row] = await db.sql.rows(editForWebhook(editId, jobId));
  return row ? editForWebhookOf(row) : null;
}
