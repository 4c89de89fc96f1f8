import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import type { Row } from '../../infra/sql.js';
import { EDIT_COLUMN_LIST, type EditFacts, editOf, FACT_COLUMNS, factValue, nextEventXid } from './columns.js';
import type { MoveListener } from './moveEdit.js';
import type { EditStatus } from './status.js';

const { sql, raw, join } = Prisma;
type Sql = Prisma.Sql;

interface AcceptedSubmit {
  attemptId: bigint;
  editId: string;
  upstreamJobId: string;
  /** Written whatever the edit's status, unless it already holds another job. */
  facts: EditFacts;
  /** Written only when the edit moves from submitting to submitted. */
  whenMoving: { cause: string; facts: EditFacts };
  now: Date;
}

/**
 * PixelByte took the edit: the attempt and the edit learn the job in one statement. A webhook may have moved the
 * edit on already; then only the facts are written (never onto an edit holding another job), never the status.
 */
function recordAccepted(a: AcceptedSubmit): Sql {
  const moving = sql`old."status" = 'submitting'`;
  const set = [sql`"status" = CASE WHEN ${moving} THEN 'submitted'::"EditStatus" ELSE e."status" END`];
  const facts: EditFacts = { ...a.facts, upstreamJobId: a.upstreamJobId };
  for (const column of FACT_COLUMNS) {
    const always = facts[column];
    const onMove = a.whenMoving.facts[column];
    if (onMove !== undefined) {
      const otherwise = always !== undefined ? factValue(column, always) : raw(`e."${column}"`);
      set.push(sql`${raw(`"${column}"`)} = CASE WHEN ${moving} THEN ${factValue(column, onMove)} ELSE ${otherwise} END`);
    } else if (always !== undefined) {
      set.push(sql`${raw(`"${column}"`)} = ${factValue(column, always)}`);
    }
  }
  set.push(sql`"updatedAt" = ${a.now}::timestamp(3)`);
  set.push(sql`"lastEventXid" = CASE WHEN ${moving} THEN ${nextEventXid('old')} ELSE e."lastEventXid" END`);
  return sql`
    WITH attempt AS (
      UPDATE "SubmitAttempt" SET "outcome" = 'accepted', "httpStatus" = 200, "upstreamJobId" = ${a.upstreamJobId}, "finishedAt" = ${a.now}::timestamp(3)
      WHERE "id" = ${a.attemptId}::int8
    ),
    old AS (SELECT "id", "status", "upstreamJobId", "lastEventXid" FROM "Edit" WHERE "id" = ${a.editId}::uuid FOR UPDATE),
    updated AS (
      UPDATE "Edit" e SET ${join(set, ', ')}
      FROM old
      -- Judged on the locked row (see moveEdit).
      WHERE e."id" = old."id" AND (${moving} OR old."upstreamJobId" IS NULL OR old."upstreamJobId" = ${a.upstreamJobId})
      RETURNING ${EDIT_COLUMN_LIST}, e."lastEventXid", old."status" AS "movedFrom"
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", "cause", "at", "eventXid")
      SELECT "id", "clientId", 'submitting'::"EditStatus", 'submitted'::"EditStatus", ${a.whenMoving.cause}, ${a.now}::timestamp(3), "lastEventXid"
      FROM updated WHERE "movedFrom" = 'submitting'
    )
    SELECT * FROM updated`;
}

/**
 * PixelByte took the edit: the attempt and the edit learn the job in ONE statement. Were they two writes, a worker
 * killed between them would leave an accepted attempt on an edit with no job, and the next worker would send it
 * again. A webhook may have moved the edit on already; then only the facts are written (never onto an edit holding
 * another job), never the status, so the late response cannot move the edit backwards.
 */
export async function recordSubmitAccepted(
  db: Db,
  onMoved: MoveListener | undefined,
  attemptId: bigint,
  editId: string,
  facts: { upstreamJobId: string } & EditFacts,
  whenMoving: { cause: string; data: EditFacts },
): Promise<void> {
  const { upstreamJobId, ...rest } = facts;
  const [row] = await db.sql.rows<Row & { movedFrom: EditStatus | null }>(
    recordAccepted({ attemptId, editId, upstreamJobId, facts: rest, whenMoving: { cause: whenMoving.cause, facts: whenMoving.data }, now: new Date() }),
  );
  if (row?.movedFrom === 'submitting') {
    onMoved?.(editOf(row), { from: 'submitting', to: 'submitted', cause: whenMoving.cause, upstreamCode: null });
  }
}
