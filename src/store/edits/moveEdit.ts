import type { Edit } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { listColumns, type Row } from '../../infra/sql.js';
import { EDIT_COLUMN_LIST, EDIT_COLUMNS, type EditColumn, type EditFacts, editOf, nextEventXid, probe, setFacts, UNCERTAIN } from './columns.js';
import { insertWebhookEvent, type WebhookEventInsert } from './recordWebhook.js';
import { canMove, EDIT_STATUSES, type EditStatus, isTerminal } from './status.js';

/**
 * Every status change: one guarded compare-and-set statement that also leaves the history row and writes what other
 * features add to a terminal move, so all of it happens in one round trip and atomically. Of two racing writers
 * (webhook, poll, late submit response, cancel) exactly one moves the edit; the other gets it as it is now.
 */

const { sql, raw, join, empty } = Prisma;
type Sql = Prisma.Sql;

// --- the relation the terminal-move hooks read ---

/** Named once, here: the move's statement defines it, and every hook reads it through `MovedEdit`. */
const MOVED = 'moved';
const moved = raw(MOVED);

/** A column of `moved`, as its RETURNING lists them: every Edit column, and the status it moved from. */
export type MovedColumn = EditColumn | 'movedFrom';

/**
 * The relation a terminal-move hook reads: the edit as it is after the move, one row. A hook is given it
 * (TerminalMoveHook.sql) and writes its SQL with these, never with a name or column list of its own, so the move
 * cannot rename or reshape the relation without its hooks following, or failing to compile.
 */
export interface MovedEdit {
  /** The relation, for a FROM clause: `moved`, or `moved <alias>`. */
  from(alias?: string): Sql;
  /** One of its columns: `"status"`, or `<alias>."status"`. */
  column(name: MovedColumn, alias?: string): Sql;
}

const MOVED_EDIT: MovedEdit = {
  from: (alias) => raw(alias ? `${MOVED} ${alias}` : MOVED),
  column: (name, alias) => raw(alias ? `${alias}."${name}"` : `"${name}"`),
};

// Built once: every move lists these.
const MOVED_COLUMN_LIST = listColumns(MOVED, EDIT_COLUMNS);
const OLD_COLUMN_LIST = listColumns('old', EDIT_COLUMNS);

interface MoveStatement {
  id: string;
  /** The statuses the edit may be in for the move to happen. */
  from: readonly EditStatus[];
  to: EditStatus;
  cause: string;
  upstreamCode: string | null;
  facts: EditFacts;
  /** A further condition on the edit (alias `e`: its locked row as it is now), checked in the same guarded update. */
  onlyIf?: Sql;
  /** Data-modifying statements reading `moved` (MovedEdit), run only when the edit moves. */
  alongside: { name: string; sql: Sql }[];
  /** Names of those whose `RETURNING id` rows are outbox rows, by the outbox they are of. */
  outboxFrom: Record<OutboxKind, string[]>;
  /** A webhook stored in the same statement, whether or not the edit moves (a repeat is stored once). */
  webhook?: WebhookEventInsert;
  /** Store the webhook only if the edit moves. */
  webhookOnlyIfMoved?: boolean;
  now: Date;
}

/**
 * The guarded compare-and-set: the edit's row is locked and read (`old`, its latest committed version), updated
 * only while its status is one of `from` (and `onlyIf` holds), and the history row and the hooks' rows are written
 * from what moved. The guard is judged on the locked row, never on the table: a condition on "Edit" itself lets the
 * planner pick an index for it (`"upstreamJobId" IS NULL` reads the whole backlog's entries in the job index).
 * Returns the edit as it is now (`movedFrom` set when this statement moved it), the outbox ids,
 * and whether the webhook was new; no row when the edit does not exist.
 */
function moveEdit(m: MoveStatement): Sql {
  const set = [
    sql`"status" = ${m.to}::"EditStatus"`,
    ...setFacts(m.facts),
    sql`"updatedAt" = ${m.now}::timestamp(3)`,
    sql`"lastEventXid" = ${nextEventXid('e')}`,
  ];
  const outboxOf = (names: string[]) =>
    names.length
      ? sql`ARRAY(${join(
          names.map((name) => sql`SELECT "id" FROM ${raw(name)}`),
          ' UNION ALL ',
        )})`
      : sql`'{}'::text[]`;
  const outbox = join(
    OUTBOX_KINDS.map((kind) => sql`${outboxOf(m.outboxFrom[kind])} AS ${raw(`"outbox_${kind}"`)}`),
    ', ',
  );
  return sql`
    WITH old AS (SELECT ${EDIT_COLUMN_LIST} FROM "Edit" e WHERE e."id" = ${m.id}::uuid FOR UPDATE),
    allowed AS (
      SELECT e."id", e."status" FROM old e
      WHERE e."status" = ANY(${[...m.from]}::"EditStatus"[]) ${m.onlyIf ? sql`AND (${m.onlyIf})` : empty}
    ),
    ${moved} AS (
      UPDATE "Edit" e SET ${join(set, ', ')}
      FROM allowed
      WHERE e."id" = allowed."id"
      RETURNING ${EDIT_COLUMN_LIST}, e."lastEventXid", allowed."status" AS ${MOVED_EDIT.column('movedFrom')}
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", "cause", "upstreamCode", "at", "eventXid")
      SELECT "id", "clientId", "movedFrom", ${m.to}::"EditStatus", ${m.cause}, ${m.upstreamCode}, ${m.now}::timestamp(3), "lastEventXid" FROM ${moved}
    )
    ${
      m.alongside.length
        ? join(
            m.alongside.map((step) => sql`, ${raw(step.name)} AS (${step.sql})`),
            '',
          )
        : empty
    }
    ${m.webhook ? sql`, webhook AS (${insertWebhookEvent(m.webhook, m.webhookOnlyIfMoved ? sql`EXISTS (SELECT 1 FROM ${moved})` : undefined)})` : empty}
    SELECT now_.*, ${outbox}, ${m.webhook ? sql`(SELECT count(*)::int FROM webhook)` : sql`0`} AS "webhookStored"
    FROM (
      SELECT ${MOVED_COLUMN_LIST}, ${MOVED_EDIT.column('movedFrom', MOVED)} FROM ${moved}
      UNION ALL
      SELECT ${OLD_COLUMN_LIST}, NULL::"EditStatus" FROM old WHERE NOT EXISTS (SELECT 1 FROM ${moved})
    ) now_`;
}

type MovedRow = Row & { movedFrom: EditStatus | null; outbox_callbacks: string[]; outbox_mirrors: string[]; webhookStored: number };

// --- guards: further conditions on the edit (alias `e`, its locked row) ---

/**
 * Adopting a job PixelByte names is only for an edit with no job yet one of whose submits may have made it (in
 * flight, or its answer lost); the edit that already holds this very job (its submit's answer came first) takes
 * the result as well. A job other than the edit's own never matches.
 */
const mayTakeJob = (jobId: string): Sql =>
  sql`e."upstreamJobId" = ${jobId} OR (e."upstreamJobId" IS NULL AND ${probe(sql`
  SELECT true FROM "SubmitAttempt" a WHERE a."editId" = e."id" AND a."outcome" IN (${UNCERTAIN})`)} IS NOT NULL)`;

/** The edit asked for one image: a webhook naming one holds all its outputs. */
const ordersOneImage: Sql = sql`e."imagesOrdered" = 1`;

/**
 * What a caller may ask of the edit besides its status, by name: the conditions' SQL stays here, beside the
 * statement that judges them on the locked row. When one does not hold, nothing moves.
 */
export interface MoveGuard {
  /** The move applies a result of this job, and the job becomes the edit's: only if it is the edit's, or may be (mayTakeJob). */
  takesJob?: string;
  /** Only an edit that asked for one image. */
  oneImageOrdered?: boolean;
}

function guardOf(guard: MoveGuard): Sql | undefined {
  const job = guard.takesJob === undefined ? undefined : mayTakeJob(guard.takesJob);
  if (!guard.oneImageOrdered) return job;
  return job ? sql`(${job}) AND ${ordersOneImage}` : ordersOneImage;
}

// --- the move as the repository runs it ---

export interface TransitionChange {
  cause: string;
  upstreamCode?: string | null;
  data?: EditFacts;
  /** Conditions on the edit besides its status, checked in the same guarded update. */
  guard?: MoveGuard;
  /** A webhook to store in the same statement, moved or not (a repeat of one stored before is not stored again). */
  webhook?: WebhookEventInsert;
  /** Store the webhook only if the edit moves. */
  webhookOnlyIfMoved?: boolean;
  /** Only from these of the statuses the state machine allows (a queued edit's cancel must not catch it mid-submit). */
  onlyFrom?: readonly EditStatus[];
}

/** The outboxes a move may write to: callback deliveries (CallbackDelivery) and mirror tasks (MirrorTask). */
export const OUTBOX_KINDS = ['callbacks', 'mirrors'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];
/** Ids of the outbox rows a move wrote, by outbox, to be relayed once it has committed (see EditTransitions). */
export type Outbox = Record<OutboxKind, string[]>;

/**
 * `outbox`: what the move wrote to the outboxes.
 * `webhookStored`: the change's webhook was new (false for a repeat, absent without one).
 */
export type TransitionResult = ({ moved: true; from: EditStatus; edit: Edit; outbox: Outbox } | { moved: false; edit: Edit | null }) & {
  webhookStored?: boolean;
};

/**
 * What another feature adds to a move into a status, as part of the move's own statement, so that it exists exactly
 * when the move does (into a terminal status the callbacks feature writes its outbox row, the budgets feature settles
 * the day's spend, both in onTerminalMove/; into `storing` the mirror writes its task, in onStoringMove/).
 * `sql(moved)` is a data-modifying statement reading the edit as it is after the move through `moved`; it is built
 * once, when the repository is. With `outbox`, the ids it returns (`RETURNING "id"`, text) are that outbox's rows,
 * relayed after the commit.
 */
export interface MoveHook {
  sql(moved: MovedEdit): Prisma.Sql;
  outbox?: OutboxKind;
}
export type TerminalMoveHook = MoveHook;

/** One status change, as the history row records it (`from` is null when the edit is stored). */
export interface EditMove {
  from: EditStatus | null;
  to: EditStatus;
  cause: string;
  upstreamCode: string | null;
}

/** Told of every status change once it is written, and once a new edit is stored. Must not throw. */
export type MoveListener = (edit: Edit, move: EditMove) => void;

/** The statuses an edit may move to `to` from: the state machine's arrows into it. */
const PREDECESSORS = new Map(EDIT_STATUSES.map((to) => [to, EDIT_STATUSES.filter((from) => canMove(from, to))]));

export type MoveEdit = (id: string, to: EditStatus, change: TransitionChange) => Promise<TransitionResult>;

/**
 * Moves an edit to `to` if the state machine allows it from where the edit is now: one statement that locks the
 * edit's row, reads its current status and updates it only if `to` may follow, so of two racing writers exactly one
 * moves it and writes history; the other finds the move no longer allowed and gets the edit as it is now.
 * A move into a terminal status also runs the terminal-move hooks (in this order, each its own step), and a move into
 * `storing` the storing-move hooks, in the same statement.
 */
export function createMove(db: Db, hooks: { onTerminalMove?: MoveHook[]; onStoringMove?: MoveHook[]; onMoved?: MoveListener }): MoveEdit {
  const terminal = stepsOf(hooks.onTerminalMove ?? []);
  const storing = stepsOf(hooks.onStoringMove ?? []);
  const none = stepsOf([]);
  return async (id, to, change) => {
    const { alongside, outboxFrom } = isTerminal(to) ? terminal : to === 'storing' ? storing : none;
    const [row] = await db.sql.rows<MovedRow>(
      moveEdit({
        id,
        from: (PREDECESSORS.get(to) ?? []).filter((from) => !change.onlyFrom || change.onlyFrom.includes(from)),
        to,
        cause: change.cause,
        upstreamCode: change.upstreamCode ?? null,
        facts: change.data ?? {},
        onlyIf: change.guard && guardOf(change.guard),
        alongside,
        outboxFrom,
        webhook: change.webhook,
        webhookOnlyIfMoved: change.webhookOnlyIfMoved,
        now: new Date(),
      }),
    );
    const webhookStored = change.webhook ? { webhookStored: (row?.webhookStored ?? 0) > 0 } : {};
    if (!row) return { moved: false, edit: null, ...webhookStored };
    const edit = editOf(row);
    if (!row.movedFrom) return { moved: false, edit, ...webhookStored };
    hooks.onMoved?.(edit, { from: row.movedFrom, to, cause: change.cause, upstreamCode: change.upstreamCode ?? null });
    return { moved: true, from: row.movedFrom, edit, outbox: { callbacks: row.outbox_callbacks, mirrors: row.outbox_mirrors }, ...webhookStored };
  };
}

/** A move's hooks as the steps of its statement, each its own name, and the names of each outbox's. */
function stepsOf(hooks: MoveHook[]): { alongside: MoveStatement['alongside']; outboxFrom: MoveStatement['outboxFrom'] } {
  const alongside = hooks.map((hook, i) => ({ name: `hook_${i}`, sql: hook.sql(MOVED_EDIT) }));
  const outboxFrom = Object.fromEntries(OUTBOX_KINDS.map((kind) => [kind, hooks.flatMap((hook, i) => (hook.outbox === kind ? [`hook_${i}`] : []))])) as Record<
    OutboxKind,
    string[]
  >;
  return { alongside, outboxFrom };
}
