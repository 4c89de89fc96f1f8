import type { Edit, SubmitAttempt } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import { json, listColumns, literalList, pickColumns, type Row } from '../../infra/sql.js';
import { type EditStatus, UNCERTAIN_OUTCOMES, UPSTREAM_SLOT_HOLDERS } from './status.js';

/**
 * The SQL of an edit's hot path, one statement per step: accepting it, each status move (with its history row
 * and what other features add to it), claiming and recording a submit, and reading it for a webhook. Each used to
 * be a transaction of several round trips; a statement is atomic all the same, and Postgres runs it in one.
 * Every row is locked and re-checked by the statement that changes it, so the guarantees of the guarded
 * compare-and-set hold unchanged: of two racing writers exactly one moves the edit.
 */

const { sql, raw, join, empty } = Prisma;
type Sql = Prisma.Sql;

export const EDIT_COLUMNS = Object.values(Prisma.EditScalarFieldEnum);
const ATTEMPT_COLUMNS = Object.values(Prisma.SubmitAttemptScalarFieldEnum);

// Built once: every hot statement lists these on every call.
const COLUMN_LISTS = {
  e: listColumns('e', EDIT_COLUMNS),
  moved: listColumns('moved', EDIT_COLUMNS),
  old: listColumns('old', EDIT_COLUMNS),
  oldAsEdit: listColumns('old', EDIT_COLUMNS, 'edit.'),
  attemptTable: listColumns('"SubmitAttempt"', ATTEMPT_COLUMNS),
  attempt: listColumns('attempt', ATTEMPT_COLUMNS, 'attempt.'),
};
const editColumns = (alias: 'e' | 'moved' | 'old') => COLUMN_LISTS[alias];
const UNCERTAIN = literalList(UNCERTAIN_OUTCOMES);

export const editOf = (row: Row): Edit => pickColumns<Edit>(row, EDIT_COLUMNS);

// --- facts a move writes besides the status ---

/** The columns a status move may set, with their SQL types: a whitelist, so no caller's key ever reaches the SQL text. */
const FACT_TYPES = {
  upstreamJobId: 'text',
  upstreamRequestId: 'text',
  upstreamStatus: 'text',
  estimatedCompletionAt: 'timestamp(3)',
  costMicroCents: 'int4',
  refundedMicroCents: 'int4',
  outputs: 'jsonb',
  errorCode: 'text',
  errorMessage: 'text',
  submittedAt: 'timestamp(3)',
  completedAt: 'timestamp(3)',
  nextPollAt: 'timestamp(3)',
} as const;
type FactColumn = keyof typeof FACT_TYPES;
const FACT_COLUMNS = Object.keys(FACT_TYPES) as FactColumn[];

/** Facts a status move writes besides the status (`updatedAt` is always set). */
export type EditFacts = { [K in Exclude<FactColumn, 'outputs'>]?: Edit[K] } & { outputs?: Prisma.InputJsonValue };

const factValue = (column: FactColumn, value: unknown): Sql =>
  sql`${FACT_TYPES[column] === 'jsonb' && value !== null ? json(value) : value}::${raw(FACT_TYPES[column])}`;

/** `"col" = value, …` for the facts given, in a fixed order (one statement text per set of facts, prepared once). */
function setFacts(facts: EditFacts): Sql[] {
  return FACT_COLUMNS.filter((c) => facts[c] !== undefined).map((c) => sql`${raw(`"${c}"`)} = ${factValue(c, facts[c])}`);
}

// --- storing a new edit ---

export interface EditInsert {
  edit: Edit;
  /** A data-modifying statement that must return a row for the edit to be stored (a budget's reservation). */
  gate?: Sql;
  idempotencyKey?: { clientId: string; key: string; requestHash: string; expiresAt: Date; responseBody: unknown };
}

/** The edit, its first history row and its Idempotency-Key, or nothing at all. Returns `stored`: 1 or 0 (gate said no). */
export function insertEdit({ edit, gate, idempotencyKey: key }: EditInsert): Sql {
  const now = edit.createdAt;
  return sql`
    WITH ${gate ? sql`gate AS (${gate}),` : empty}
    stored AS (
      INSERT INTO "Edit" ("id", "status", "model", "input", "clientId", "callbackUrl", "metadata", "estimatedCostMicroCents",
                          "imagesOrdered", "outputs", "pollCount", "createdAt", "updatedAt")
      SELECT ${edit.id}::uuid, 'queued'::"EditStatus", ${edit.model}, ${json(edit.input)}::jsonb, ${edit.clientId}, ${edit.callbackUrl},
             ${edit.metadata === null ? null : json(edit.metadata)}::jsonb, ${edit.estimatedCostMicroCents}::int4, ${edit.imagesOrdered}::int4,
             '[]'::jsonb, 0, ${now}::timestamp(3), ${now}::timestamp(3)
      ${gate ? sql`WHERE EXISTS (SELECT 1 FROM gate)` : empty}
      RETURNING "id"
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "fromStatus", "toStatus", "cause", "at")
      SELECT "id", NULL::"EditStatus", 'queued'::"EditStatus", 'accepted', ${now}::timestamp(3) FROM stored
    )
    ${
      key
        ? sql`, idempotency AS (
      INSERT INTO "IdempotencyKey" ("clientId", "key", "requestHash", "editId", "responseStatus", "responseBody", "createdAt", "expiresAt")
      SELECT ${key.clientId}, ${key.key}, ${key.requestHash}, "id", 202, ${json(key.responseBody)}::jsonb, ${now}::timestamp(3),
             ${key.expiresAt}::timestamp(3)
      FROM stored
    )`
        : empty
    }
    SELECT count(*)::int AS "stored" FROM stored`;
}

/**
 * Many edits that need nothing else in their statement (no gate, no Idempotency-Key), with their first history rows,
 * in one statement: the columns go in as arrays, so the text is the same for any number of edits and is prepared
 * once. Returns the ids stored.
 */
export function insertEdits(edits: readonly Edit[]): Sql {
  const column = <T>(read: (edit: Edit) => T) => edits.map(read);
  const at = column((e) => e.createdAt.toISOString());
  return sql`
    WITH stored AS (
      INSERT INTO "Edit" ("id", "status", "model", "input", "clientId", "callbackUrl", "metadata", "estimatedCostMicroCents",
                          "imagesOrdered", "outputs", "pollCount", "createdAt", "updatedAt")
      SELECT n."id", 'queued'::"EditStatus", n."model", n."input", n."clientId", n."callbackUrl", n."metadata", n."cost",
             n."images", '[]'::jsonb, 0, n."at", n."at"
      FROM unnest(${column((e) => e.id)}::uuid[], ${column((e) => e.model)}::text[], ${column((e) => json(e.input))}::jsonb[],
                  ${column((e) => e.clientId)}::text[], ${column((e) => e.callbackUrl)}::text[],
                  ${column((e) => (e.metadata === null ? null : json(e.metadata)))}::jsonb[], ${column((e) => e.estimatedCostMicroCents)}::int4[],
                  ${column((e) => e.imagesOrdered)}::int4[], ${at}::timestamp(3)[])
           AS n("id", "model", "input", "clientId", "callbackUrl", "metadata", "cost", "images", "at")
      RETURNING "id", "createdAt"
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "fromStatus", "toStatus", "cause", "at")
      SELECT "id", NULL::"EditStatus", 'queued'::"EditStatus", 'accepted', "createdAt" FROM stored
    )
    SELECT "id" FROM stored`;
}

// --- status moves ---

export interface MoveStatement {
  id: string;
  /** The statuses the edit may be in for the move to happen. */
  from: readonly EditStatus[];
  to: EditStatus;
  cause: string;
  upstreamCode: string | null;
  facts: EditFacts;
  /** A further condition on the edit (alias `e`: its locked row as it is now), checked in the same guarded update. */
  onlyIf?: Sql;
  /** Data-modifying statements reading `moved` (the edit as it is after the move), run only when it moves. */
  alongside: { name: string; sql: Sql }[];
  /** Names of those whose `RETURNING id` rows are outbox rows. */
  outboxFrom: string[];
  /** A webhook stored in the same statement, whether or not the edit moves (a repeat is stored once). */
  webhook?: WebhookEventInsert;
  /** Store the webhook only if the edit moves. */
  webhookOnlyIfMoved?: boolean;
  now: Date;
}

export interface WebhookEventInsert {
  editId: string;
  upstreamJobId: string;
  status: string;
  rawBody: string;
  signedAt: Date;
}

/**
 * The guarded compare-and-set: the edit's row is locked and read (`old`, its latest committed version), updated
 * only while its status is one of `from` (and `onlyIf` holds), and the history row and the hooks' rows are written
 * from what moved. The guard is judged on the locked row, never on the table: a condition on "Edit" itself lets the
 * planner pick an index for it (`"upstreamJobId" IS NULL` reads the whole backlog's entries in the job index).
 * Returns the edit as it is now (`movedFrom` set when this statement moved it), the outbox ids,
 * and whether the webhook was new; no row when the edit does not exist.
 */
export function moveEdit(m: MoveStatement): Sql {
  const set = [sql`"status" = ${m.to}::"EditStatus"`, ...setFacts(m.facts), sql`"updatedAt" = ${m.now}::timestamp(3)`];
  const outbox = m.outboxFrom.length
    ? sql`ARRAY(${join(
        m.outboxFrom.map((name) => sql`SELECT "id" FROM ${raw(name)}`),
        ' UNION ALL ',
      )})`
    : sql`'{}'::text[]`;
  return sql`
    WITH old AS (SELECT ${editColumns('e')} FROM "Edit" e WHERE e."id" = ${m.id}::uuid FOR UPDATE),
    allowed AS (
      SELECT e."id", e."status" FROM old e
      WHERE e."status" = ANY(${[...m.from]}::"EditStatus"[]) ${m.onlyIf ? sql`AND (${m.onlyIf})` : empty}
    ),
    moved AS (
      UPDATE "Edit" e SET ${join(set, ', ')}
      FROM allowed
      WHERE e."id" = allowed."id"
      RETURNING ${editColumns('e')}, allowed."status" AS "movedFrom"
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "fromStatus", "toStatus", "cause", "upstreamCode", "at")
      SELECT "id", "movedFrom", ${m.to}::"EditStatus", ${m.cause}, ${m.upstreamCode}, ${m.now}::timestamp(3) FROM moved
    )
    ${
      m.alongside.length
        ? join(
            m.alongside.map((step) => sql`, ${raw(step.name)} AS (${step.sql})`),
            '',
          )
        : empty
    }
    ${m.webhook ? sql`, webhook AS (${insertWebhookEvent(m.webhook, m.webhookOnlyIfMoved ? sql`EXISTS (SELECT 1 FROM moved)` : undefined)})` : empty}
    SELECT now_.*, ${outbox} AS "outbox", ${m.webhook ? sql`(SELECT count(*)::int FROM webhook)` : sql`0`} AS "webhookStored"
    FROM (
      SELECT ${editColumns('moved')}, moved."movedFrom" FROM moved
      UNION ALL
      SELECT ${editColumns('old')}, NULL::"EditStatus" FROM old WHERE NOT EXISTS (SELECT 1 FROM moved)
    ) now_`;
}

export type MovedRow = Row & { movedFrom: EditStatus | null; outbox: string[]; webhookStored: number };

/**
 * A webhook, stored unless this job+status was stored for this edit before (or `onlyIf` does not hold). Returns a row
 * when it was new.
 */
export function insertWebhookEvent(event: WebhookEventInsert, onlyIf?: Sql): Sql {
  return sql`
    INSERT INTO "WebhookEvent" ("editId", "upstreamJobId", "status", "rawBody", "signedAt", "receivedAt")
    SELECT ${event.editId}::uuid, ${event.upstreamJobId}, ${event.status}, ${event.rawBody}, ${event.signedAt}::timestamp(3), ${new Date()}::timestamp(3)
    ${onlyIf ? sql`WHERE ${onlyIf}` : empty}
    ON CONFLICT ("editId", "upstreamJobId", "status") DO NOTHING
    RETURNING "id"`;
}

/**
 * A lookup of one edit's rows, by the index that starts with its id: a scalar subquery with LIMIT, where EXISTS
 * would let the planner hash (or anti-join) the whole table once per statement instead, which it does when its
 * statistics still think the table small (a table that grew since the last ANALYZE).
 */
const probe = (query: Sql): Sql => sql`(${query} LIMIT 1)`;

/**
 * Adopting a job PixelByte names is only for an edit with no job yet one of whose submits may have made it (in
 * flight, or its answer lost); the edit that already holds this very job (its submit's answer came first) takes
 * the result as well. A job other than the edit's own never matches.
 */
export const mayTakeJob = (jobId: string): Sql =>
  sql`e."upstreamJobId" = ${jobId} OR (e."upstreamJobId" IS NULL AND ${probe(sql`
  SELECT true FROM "SubmitAttempt" a WHERE a."editId" = e."id" AND a."outcome" IN (${UNCERTAIN})`)} IS NOT NULL)`;

/** The edit (alias `e`) asked for one image: a webhook naming one holds all its outputs. */
export const ordersOneImage: Sql = sql`e."imagesOrdered" = 1`;

// --- submit attempts ---

export interface BeginAttempt {
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
export function slotsTaken(editId: string, firstOnly: boolean): Sql {
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
export function beginAttempt(b: BeginAttempt): Sql {
  return sql`
    WITH locked AS (SELECT ${editColumns('e')} FROM "Edit" e WHERE e."id" = ${b.editId}::uuid FOR UPDATE),
    old AS (SELECT * FROM locked e WHERE ${waitingToBeSent(b.firstOnly)}),
    moved AS (
      UPDATE "Edit" e SET "status" = 'submitting', "updatedAt" = ${b.now}::timestamp(3)
      FROM old WHERE e."id" = old."id" AND old."status" = 'queued'
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "fromStatus", "toStatus", "cause", "at")
      SELECT "id", "status", 'submitting'::"EditStatus", ${b.cause}, ${b.now}::timestamp(3) FROM old
    ),
    attempt AS (
      -- Every submit from this release on sends the tokenized webhookUrl (submit/submitEdit.ts, upstream/webhookUrl.ts).
      INSERT INTO "SubmitAttempt" ("editId", "attempt", "tokenizedWebhookUrl", "startedAt")
      SELECT "id", ${b.attempt}::int4, true, ${b.now}::timestamp(3) FROM old
      RETURNING ${COLUMN_LISTS.attemptTable}
    )
    SELECT ${COLUMN_LISTS.attempt}, ${COLUMN_LISTS.oldAsEdit} FROM attempt, old`;
}

export const attemptOf = (row: Row): SubmitAttempt => pickColumns<SubmitAttempt>(row, ATTEMPT_COLUMNS, 'attempt.');
export const editBeforeOf = (row: Row): Edit => pickColumns<Edit>(row, EDIT_COLUMNS, 'edit.');

export interface AcceptedSubmit {
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
export function recordAccepted(a: AcceptedSubmit): Sql {
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
  return sql`
    WITH attempt AS (
      UPDATE "SubmitAttempt" SET "outcome" = 'accepted', "httpStatus" = 200, "upstreamJobId" = ${a.upstreamJobId}, "finishedAt" = ${a.now}::timestamp(3)
      WHERE "id" = ${a.attemptId}::int8
    ),
    old AS (SELECT "id", "status", "upstreamJobId" FROM "Edit" WHERE "id" = ${a.editId}::uuid FOR UPDATE),
    updated AS (
      UPDATE "Edit" e SET ${join(set, ', ')}
      FROM old
      -- Judged on the locked row (see moveEdit).
      WHERE e."id" = old."id" AND (${moving} OR old."upstreamJobId" IS NULL OR old."upstreamJobId" = ${a.upstreamJobId})
      RETURNING ${editColumns('e')}, old."status" AS "movedFrom"
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "fromStatus", "toStatus", "cause", "at")
      SELECT "id", 'submitting'::"EditStatus", 'submitted'::"EditStatus", ${a.whenMoving.cause}, ${a.now}::timestamp(3) FROM updated WHERE "movedFrom" = 'submitting'
    )
    SELECT * FROM updated`;
}

// --- reading an edit for its webhook ---

/** The edit, what its submits say about which jobs can be its, and which edit holds `jobId`, read in one snapshot. */
export function editForWebhook(editId: string, jobId: string): Sql {
  return sql`
    SELECT ${editColumns('e')}, a."count" AS "attemptCount", coalesce(a."tokenized", false) AS "anyTokenized",
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

export const editForWebhookOf = (row: Row): EditForWebhook => ({
  edit: editOf(row),
  submits: { count: row.attemptCount as number, anyTokenized: row.anyTokenized as boolean, anyUncertain: row.anyUncertain as boolean },
  jobOwnerId: row.jobOwnerId as string | null,
});
