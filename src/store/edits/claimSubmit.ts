import type { Edit, SubmitAttempt } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { SerialLane } from '../../infra/serialLane.js';
import { listColumns, literalList, pickColumns, type Row } from '../../infra/sql.js';
import { isUniqueViolation } from '../uniqueViolation.js';
import { EDIT_COLUMN_LIST, EDIT_COLUMNS, nextEventXid, probe } from './columns.js';
import { type FairPickRow, fairPick } from './fairPick.js';
import type { MoveListener } from './moveEdit.js';
import { UPSTREAM_SLOT_HOLDERS } from './status.js';

/**
 * Claiming a submit: the attempt row that says a submit is about to leave, written in the statement that moves a
 * queued edit to `submitting` (the fence against paying twice starts here). The worker's first claim and any later
 * attempt are the same statement; the first claim only asks less of the edit. Under a cap on jobs at PixelByte, the
 * slots are counted and the attempt begun under one advisory lock, and a first claim sends whichever queued edit is
 * fairest now (fairPick.ts), which may not be its own.
 */

const { sql } = Prisma;
type Sql = Prisma.Sql;

const ATTEMPT_COLUMNS = Object.values(Prisma.SubmitAttemptScalarFieldEnum);

// Built once: every claim lists these.
const COLUMN_LISTS = {
  attemptTable: listColumns('"SubmitAttempt"', ATTEMPT_COLUMNS),
  attempt: listColumns('attempt', ATTEMPT_COLUMNS, 'attempt.'),
  oldAsEdit: listColumns('old', EDIT_COLUMNS, 'edit.'),
};

interface BeginAttempt {
  editId: string;
  attempt: number;
  cause: string;
  /** Only an edit that is queued and was never sent: the worker's common case, which needs no reads before it. */
  firstOnly: boolean;
  now: Date;
}

/**
 * The edit (alias `e`) is waiting for a submit: PixelByte has no job of it; with `firstOnly`, none was ever sent.
 * Applied to the row found by its id, never as a search: a status is a poor key (the planner, seeing `queued` rare
 * in its statistics, would walk the status index through every queued edit of a backlog to find this one).
 */
function waitingToBeSent(firstOnly: boolean): Sql {
  return sql`e."upstreamJobId" IS NULL AND ${
    firstOnly
      ? sql`e."status" = 'queued' AND ${probe(sql`SELECT true FROM "SubmitAttempt" a WHERE a."editId" = e."id"`)} IS NULL`
      : sql`e."status" IN ('queued', 'submitting')`
  }`;
}

/**
 * The edits holding an upstream slot besides this one, and whether this one is (still) waiting to be sent, read
 * under the slots' advisory lock. The statuses are written into the statement, not bound: a prepared statement's
 * generic plan cannot know a bound list is three rare statuses, and counts them by scanning every edit.
 */
function slotsTaken(editId: string, firstOnly: boolean): Sql {
  const holders = literalList(UPSTREAM_SLOT_HOLDERS);
  return sql`
    WITH this AS MATERIALIZED (SELECT * FROM "Edit" WHERE "id" = ${editId}::uuid)
    SELECT (SELECT count(*)::int FROM "Edit" WHERE "status" IN (${holders}) AND "id" <> ${editId}::uuid) AS "inFlight",
           EXISTS (SELECT 1 FROM this e WHERE ${waitingToBeSent(firstOnly)}) AS "waiting"`;
}

/**
 * Records that a submit attempt is about to leave, moving a queued edit to `submitting` (a `submitting` one gets a
 * history row only), all in one statement. No row when the edit is not waiting to be submitted.
 * Returns the attempt's columns prefixed `attempt.` and the edit as it was before (`edit.`).
 */
function beginAttempt(b: BeginAttempt): Sql {
  return sql`
    WITH locked AS (SELECT ${EDIT_COLUMN_LIST}, e."lastEventXid" FROM "Edit" e WHERE e."id" = ${b.editId}::uuid FOR UPDATE),
    old AS (SELECT * FROM locked e WHERE ${waitingToBeSent(b.firstOnly)}),
    moved AS (
      UPDATE "Edit" e SET "status" = 'submitting', "updatedAt" = ${b.now}::timestamp(3), "lastEventXid" = ${nextEventXid('old')}
      FROM old WHERE e."id" = old."id" AND old."status" = 'queued'
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", "cause", "at", "eventXid")
      SELECT "id", "clientId", "status", 'submitting'::"EditStatus", ${b.cause}, ${b.now}::timestamp(3), ${nextEventXid('old')} FROM old
    ),
    attempt AS (
      -- Every submit from this release on sends the tokenized webhookUrl (submit/submitEdit.ts, upstream/webhookUrl.ts).
      INSERT INTO "SubmitAttempt" ("editId", "attempt", "tokenizedWebhookUrl", "startedAt")
      SELECT "id", ${b.attempt}::int4, true, ${b.now}::timestamp(3) FROM old
      RETURNING ${COLUMN_LISTS.attemptTable}
    )
    SELECT ${COLUMN_LISTS.attempt}, ${COLUMN_LISTS.oldAsEdit} FROM attempt, old`;
}

const attemptOf = (row: Row): SubmitAttempt => pickColumns<SubmitAttempt>(row, ATTEMPT_COLUMNS, 'attempt.');
const editBeforeOf = (row: Row): Edit => pickColumns<Edit>(row, EDIT_COLUMNS, 'edit.');

const UPSTREAM_SLOTS_LOCK = 7_262_001; // any constant; names the advisory lock guarding upstream slots

/**
 * A process's claims take the slots' lock one at a time: the others wait here, not in a transaction on a pool
 * connection. Waiting on the lock, ten claims held the whole pool of ten, and the statements that record a submit's
 * answer queued behind them: a 100,000-edit backlog drained at 30/s of the 100/s its cap allowed (85/s with a pool
 * of 30; 63/s with this lane and the pool of 10).
 */
const claimLanes = new WeakMap<Db, SerialLane>();
const claimLaneOf = (db: Db): SerialLane => {
  let lane = claimLanes.get(db);
  if (!lane) {
    lane = new SerialLane();
    claimLanes.set(db, lane);
  }
  return lane;
};

export type ClaimedSubmit = { edit: Edit; attempt: SubmitAttempt };

/**
 * Begins attempt `attempt` of the edit, moving it to `submitting` if it was queued. Null when the edit is no longer
 * waiting to be submitted (or, with `firstOnly`, was sent before) or another worker already claimed this attempt
 * number; 'no-slot' when `maxInFlight` edits are at PixelByte already (or no client with edits waiting may take one
 * more). The edit comes back as it is after the claim: under a cap, a first claim's may be another, fairer edit.
 */
export async function claimSubmit(
  db: Db,
  onMoved: MoveListener | undefined,
  step: { editId: string; attempt: number; cause: string; firstOnly: boolean },
  maxInFlight: number | undefined,
): Promise<ClaimedSubmit | 'no-slot' | null> {
  const now = new Date();
  try {
    const rows =
      maxInFlight === undefined
        ? await db.sql.rows(beginAttempt({ ...step, now }))
        : await claimLaneOf(db).run(() =>
            db.sql.transaction(async (q) => {
              // One lock for every worker process: count, pick and claim are one step, so the cap holds under any number
              // of workers and no two take the same edit.
              await q.rows(sql`SELECT pg_advisory_xact_lock(${UPSTREAM_SLOTS_LOCK}::int8)`);
              if (step.firstOnly) {
                const [slots] = await q.rows<FairPickRow>(fairPick({ editId: step.editId, maxInFlight, now }));
                // An edit that no longer waits is done with, whether or not a slot is free.
                if (!slots?.waiting) return [];
                if (!slots.picked) return 'no-slot' as const;
                // The fairest edit may be another client's: this job sends it, and its own job finds it claimed.
                const editId = slots.picked;
                return q.rows(beginAttempt({ ...step, editId, cause: editId === step.editId ? step.cause : `${step.cause} (fair share)`, now }));
              }
              const [slots] = await q.rows<{ inFlight: number; waiting: boolean }>(slotsTaken(step.editId, step.firstOnly));
              if (!slots?.waiting) return [];
              if (slots.inFlight >= maxInFlight) return 'no-slot' as const;
              return q.rows(beginAttempt({ ...step, now }));
            }),
          );
    if (rows === 'no-slot') return rows;
    const [row] = rows;
    if (!row) return null;
    const before = editBeforeOf(row);
    const edit: Edit = before.status === 'queued' ? { ...before, status: 'submitting', updatedAt: row['attempt.startedAt'] as Date } : before;
    if (before.status === 'queued') onMoved?.(edit, { from: 'queued', to: 'submitting', cause: step.cause, upstreamCode: null });
    return { edit, attempt: attemptOf(row) };
  } catch (err) {
    if (isUniqueViolation(err)) return null;
    throw err;
  }
}
