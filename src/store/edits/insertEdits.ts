import type { Edit, EditPriority } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import { groupCommit } from '../../infra/groupCommit.js';
import type { Db } from '../../infra/prisma.js';
import { isPgDatabaseError, json } from '../../infra/sql.js';
import type { MoveListener } from './moveEdit.js';
import { ensureQueueRoom, hasQueueLimit, type QueueLimits } from './onCreate/queueLimit.js';

/** Storing a new edit: its row, its first history row and, with one, its Idempotency-Key, all in one statement. */

const { sql, empty } = Prisma;
type Sql = Prisma.Sql;

export interface NewEdit {
  id: string;
  model: string;
  input: Prisma.InputJsonValue;
  callbackUrl?: string;
  metadata?: Prisma.InputJsonValue;
  clientId: string;
  estimatedCostMicroCents: number;
  /** As the price counts them. */
  imagesOrdered: number;
  /** Orders the client's own queue; normal when unset. */
  priority?: EditPriority;
  /** Past this, the edit is cancelled if not yet sent (engine/maintenance/enforceDeadlines.ts). */
  deadlineAt?: Date;
}

export interface NewIdempotencyKey {
  clientId: string;
  key: string;
  requestHash: string;
  expiresAt: Date;
  /** The response body the first request gets, stored to be replayed. */
  respond(edit: Edit): Prisma.InputJsonValue;
}

/**
 * What another feature adds to storing a new edit, in the same statement (the budgets feature reserves its cost
 * here). `gate(edit)` is a data-modifying statement that must return a row for the edit to be stored, or null when
 * it has nothing to say about this edit; when it returns none, nothing is stored and `refusal(edit)` is thrown.
 */
export interface CreateHook {
  gate(edit: Edit): Prisma.Sql | null;
  refusal(edit: Edit): Promise<Error>;
}

interface EditInsert {
  edit: Edit;
  /** A data-modifying statement that must return a row for the edit to be stored (a budget's reservation). */
  gate?: Sql;
  idempotencyKey?: { clientId: string; key: string; requestHash: string; expiresAt: Date; responseBody: unknown };
}

/** The edit, its first history row and its Idempotency-Key, or nothing at all. Returns `stored`: 1 or 0 (gate said no). */
function insertEdit({ edit, gate, idempotencyKey: key }: EditInsert): Sql {
  const now = edit.createdAt;
  return sql`
    WITH ${gate ? sql`gate AS (${gate}),` : empty}
    stored AS (
      INSERT INTO "Edit" ("id", "status", "model", "input", "clientId", "callbackUrl", "metadata", "estimatedCostMicroCents",
                          "imagesOrdered", "outputs", "pollCount", "createdAt", "updatedAt", "priority", "deadlineAt")
      SELECT ${edit.id}::uuid, 'queued'::"EditStatus", ${edit.model}, ${json(edit.input)}::jsonb, ${edit.clientId}, ${edit.callbackUrl},
             ${edit.metadata === null ? null : json(edit.metadata)}::jsonb, ${edit.estimatedCostMicroCents}::int4, ${edit.imagesOrdered}::int4,
             '[]'::jsonb, 0, ${now}::timestamp(3), ${now}::timestamp(3), ${edit.priority}::"EditPriority", ${edit.deadlineAt}::timestamp(3)
      ${gate ? sql`WHERE EXISTS (SELECT 1 FROM gate)` : empty}
      RETURNING "id", "clientId"
    ),
    -- The edit's "lastEventXid" and this row's "eventXid" both default to this transaction's id.
    history AS (
      INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", "cause", "at")
      SELECT "id", "clientId", NULL::"EditStatus", 'queued'::"EditStatus", 'accepted', ${now}::timestamp(3) FROM stored
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
function insertEdits(edits: readonly Edit[]): Sql {
  const column = <T>(read: (edit: Edit) => T) => edits.map(read);
  const at = column((e) => e.createdAt.toISOString());
  return sql`
    WITH stored AS (
      INSERT INTO "Edit" ("id", "status", "model", "input", "clientId", "callbackUrl", "metadata", "estimatedCostMicroCents",
                          "imagesOrdered", "outputs", "pollCount", "createdAt", "updatedAt", "priority", "deadlineAt")
      SELECT n."id", 'queued'::"EditStatus", n."model", n."input", n."clientId", n."callbackUrl", n."metadata", n."cost",
             n."images", '[]'::jsonb, 0, n."at", n."at", n."priority", n."deadlineAt"
      FROM unnest(${column((e) => e.id)}::uuid[], ${column((e) => e.model)}::text[], ${column((e) => json(e.input))}::jsonb[],
                  ${column((e) => e.clientId)}::text[], ${column((e) => e.callbackUrl)}::text[],
                  ${column((e) => (e.metadata === null ? null : json(e.metadata)))}::jsonb[], ${column((e) => e.estimatedCostMicroCents)}::int4[],
                  ${column((e) => e.imagesOrdered)}::int4[], ${at}::timestamp(3)[], ${column((e) => e.priority)}::"EditPriority"[],
                  ${column((e) => e.deadlineAt?.toISOString() ?? null)}::timestamp(3)[])
           AS n("id", "model", "input", "clientId", "callbackUrl", "metadata", "cost", "images", "at", "priority", "deadlineAt")
      RETURNING "id", "clientId", "createdAt"
    ),
    history AS (
      INSERT INTO "EditTransition" ("editId", "clientId", "fromStatus", "toStatus", "cause", "at")
      SELECT "id", "clientId", NULL::"EditStatus", 'queued'::"EditStatus", 'accepted', "createdAt" FROM stored
    )
    SELECT "id" FROM stored`;
}

/** Below the default pool of 10: accepts in flight leave connections for webhooks, workers and reads. */
const INSERT_GROUPS_IN_FLIGHT = 4;
const MAX_INSERT_GROUP = 200;

export type CreateEdit = (edit: NewEdit, idempotency?: NewIdempotencyKey, limits?: QueueLimits) => Promise<Edit>;

/**
 * Stores a new queued edit and its first history row; with `idempotency`, also the caller's key and the response it
 * gets, all in one statement, so a key never exists without its edit or the reverse. A concurrent request with the
 * same key makes it throw a unique violation. One per repository: the group commit it holds is its own.
 */
export function createEdits(db: Db, hooks: { onCreate?: CreateHook; onMoved?: MoveListener }): CreateEdit {
  /** Each edit's error, or undefined when it was stored. */
  const insertGroup = async (group: Edit[]): Promise<(Error | undefined)[]> => {
    try {
      await db.sql.rows(insertEdits(group));
      return group.map(() => undefined);
    } catch (err) {
      // Postgres refused the statement itself (the connection is fine): one edit's data may be to blame, so each is
      // stored on its own and only that one fails.
      if (group.length === 1 || !isPgDatabaseError(err)) throw err;
      return Promise.all(
        group.map((edit) =>
          db.sql.rows(insertEdit({ edit })).then(
            () => undefined,
            (e: Error) => e,
          ),
        ),
      );
    }
  };
  // Edits accepted at the same time are stored by one statement (group commit). Only those whose statement holds
  // nothing of their own: a gate or an Idempotency-Key can refuse one edit, and must not take others down with it.
  const insertGrouped = groupCommit(insertGroup, { maxInFlight: INSERT_GROUPS_IN_FLIGHT, maxGroup: MAX_INSERT_GROUP });

  return async (edit, idempotency, limits) => {
    const now = new Date();
    const stored: Edit = {
      id: edit.id,
      status: 'queued',
      model: edit.model,
      input: edit.input as Prisma.JsonValue,
      clientId: edit.clientId,
      callbackUrl: edit.callbackUrl ?? null,
      metadata: (edit.metadata ?? null) as Prisma.JsonValue,
      upstreamJobId: null,
      upstreamRequestId: null,
      upstreamStatus: null,
      estimatedCompletionAt: null,
      estimatedCostMicroCents: edit.estimatedCostMicroCents,
      imagesOrdered: edit.imagesOrdered,
      costMicroCents: null,
      refundedMicroCents: null,
      outputs: [],
      errorCode: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
      submittedAt: null,
      completedAt: null,
      pollCount: 0,
      nextPollAt: null,
      priority: edit.priority ?? 'normal',
      deadlineAt: edit.deadlineAt ?? null,
      deadlineMissed: false,
    };
    const gate = hooks.onCreate?.gate(stored) ?? undefined;
    const key = idempotency && {
      clientId: idempotency.clientId,
      key: idempotency.key,
      requestHash: idempotency.requestHash,
      expiresAt: idempotency.expiresAt,
      responseBody: idempotency.respond(stored),
    };
    if (hasQueueLimit(limits)) {
      // Counted and stored in one transaction: nothing is stored past a limit.
      const [row] = await db.sql.transaction(async (q) => {
        await ensureQueueRoom(q, stored.clientId, limits);
        return q.rows<{ stored: number }>(insertEdit({ edit: stored, gate, idempotencyKey: key }));
      });
      if (row?.stored !== 1) throw await hooks.onCreate!.refusal(stored);
    } else if (gate === undefined && key === undefined) {
      const refused = await insertGrouped(stored);
      if (refused) throw refused;
    } else {
      const [row] = await db.sql.rows<{ stored: number }>(insertEdit({ edit: stored, gate, idempotencyKey: key }));
      if (row?.stored !== 1) throw await hooks.onCreate!.refusal(stored);
    }
    hooks.onMoved?.(stored, { from: null, to: 'queued', cause: 'accepted', upstreamCode: null });
    return stored;
  };
}
