import type { Edit, EditTransition, IdempotencyKey, SubmitAttempt } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { SubmitOutcome } from '../../generated/prisma/enums.js';
import { groupCommit } from '../../infra/groupCommit.js';
import type { Db } from '../../infra/prisma.js';
import { isPgDatabaseError, isPgUniqueViolation } from '../../infra/sql.js';
import {
  attemptOf,
  beginAttempt,
  type EditFacts,
  type EditForWebhook,
  editBeforeOf,
  editForWebhook,
  editForWebhookOf,
  editOf,
  insertEdit,
  insertEdits,
  insertWebhookEvent,
  type MovedRow,
  moveEdit,
  recordAccepted,
  slotsTaken,
  type WebhookEventInsert,
} from './statements.js';
import { AT_UPSTREAM, canMove, EDIT_STATUSES, type EditStatus, isTerminal, UNCERTAIN_OUTCOMES } from './status.js';

export type { Edit, EditFacts, EditForWebhook, EditTransition, IdempotencyKey, SubmitAttempt };

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
}

export interface NewIdempotencyKey {
  clientId: string;
  key: string;
  requestHash: string;
  expiresAt: Date;
  /** The response body the first request gets, stored to be replayed. */
  respond(edit: Edit): Prisma.InputJsonValue;
}

export interface TransitionChange {
  cause: string;
  upstreamCode?: string | null;
  data?: EditFacts;
  /** A further condition on the edit (alias `e`), checked in the same guarded update; when it does not hold, nothing moves. */
  onlyIf?: Prisma.Sql;
  /** A webhook to store in the same statement, moved or not (a repeat of one stored before is not stored again). */
  webhook?: WebhookEventInsert;
  /** Store the webhook only if the edit moves. */
  webhookOnlyIfMoved?: boolean;
}

/**
 * `outbox`: ids of the outbox rows the move wrote, to be relayed once it has committed (see EditTransitions).
 * `webhookStored`: the change's webhook was new (false for a repeat, absent without one).
 */
export type TransitionResult = ({ moved: true; from: EditStatus; edit: Edit; outbox: string[] } | { moved: false; edit: Edit | null }) & {
  webhookStored?: boolean;
};

/**
 * What another feature adds to a move into a terminal status, as part of the move's own statement, so that it
 * exists exactly when the move does (the callbacks feature writes its outbox row here, the budgets feature settles
 * the day's spend). `sql` is a data-modifying statement reading `moved`: the edit as it is after the move, one row
 * with every Edit column. With `outbox`, the ids it returns (`RETURNING "id"`) are relayed after the commit.
 */
export interface TerminalMoveHook {
  sql: Prisma.Sql;
  outbox?: boolean;
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

/** One status change, as the history row records it (`from` is null when the edit is stored). */
export interface EditMove {
  from: EditStatus | null;
  to: EditStatus;
  cause: string;
  upstreamCode: string | null;
}

/** Told of every status change once it is written, and once a new edit is stored. Must not throw. */
export type MoveListener = (edit: Edit, move: EditMove) => void;

export interface EditRepositoryHooks {
  /** Run in this order, each its own step of the move's statement. */
  onTerminalMove?: TerminalMoveHook[];
  onMoved?: MoveListener;
  onCreate?: CreateHook;
}

export interface ListPage {
  /** Only this client's edits. */
  clientId: string;
  status?: EditStatus;
  limit: number;
  after?: { createdAt: Date; id: string };
}

const UNIQUE_VIOLATION = 'P2002';
/** Below the default pool of 10: accepts in flight leave connections for webhooks, workers and reads. */
const INSERT_GROUPS_IN_FLIGHT = 4;
const MAX_INSERT_GROUP = 200;
const UPSTREAM_SLOTS_LOCK = 7_262_001; // any constant; names the advisory lock guarding upstream slots
/** A unique constraint refused a write, whether Prisma or the hot statements (node-postgres) made it. */
export const isUniqueViolation = (err: unknown) =>
  (err instanceof Prisma.PrismaClientKnownRequestError && err.code === UNIQUE_VIOLATION) || isPgUniqueViolation(err);

/** The statuses an edit may move to `to` from: the state machine's arrows into it. */
const PREDECESSORS = new Map(EDIT_STATUSES.map((to) => [to, EDIT_STATUSES.filter((from) => canMove(from, to))]));

/**
 * The queries for edits. Every status change is one guarded compare-and-set statement (edits/statements.ts) that
 * leaves a history row; the repository knows nothing of queues, so what a move wrote to an outbox is returned,
 * not sent. The hot path (create, moves, submit attempts, webhooks) runs as single SQL statements; the rest is
 * Prisma.
 */
export class EditRepository {
  /**
   * Edits accepted at the same time are stored by one statement (group commit). Only those whose statement holds
   * nothing of their own: a gate or an Idempotency-Key can refuse one edit, and must not take others down with it.
   */
  private readonly insertGrouped = groupCommit((group: Edit[]) => this.insertGroup(group), {
    maxInFlight: INSERT_GROUPS_IN_FLIGHT,
    maxGroup: MAX_INSERT_GROUP,
  });

  constructor(
    private readonly db: Db,
    private readonly hooks: EditRepositoryHooks = {},
  ) {}

  /**
   * Stores a new queued edit and its first history row; with `idempotency`, also the caller's key and the
   * response it gets, all in one statement, so a key never exists without its edit or the reverse.
   * A concurrent request with the same key makes this throw a unique violation.
   */
  async create(edit: NewEdit, idempotency?: NewIdempotencyKey): Promise<Edit> {
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
    };
    const gate = this.hooks.onCreate?.gate(stored) ?? undefined;
    const key = idempotency && {
      clientId: idempotency.clientId,
      key: idempotency.key,
      requestHash: idempotency.requestHash,
      expiresAt: idempotency.expiresAt,
      responseBody: idempotency.respond(stored),
    };
    if (gate === undefined && key === undefined) {
      const refused = await this.insertGrouped(stored);
      if (refused) throw refused;
    } else {
      const [row] = await this.db.sql.rows<{ stored: number }>(insertEdit({ edit: stored, gate, idempotencyKey: key }));
      if (row?.stored !== 1) throw await this.hooks.onCreate!.refusal(stored);
    }
    this.hooks.onMoved?.(stored, { from: null, to: 'queued', cause: 'accepted', upstreamCode: null });
    return stored;
  }

  /** Each edit's error, or undefined when it was stored. */
  private async insertGroup(group: Edit[]): Promise<(Error | undefined)[]> {
    try {
      await this.db.sql.rows(insertEdits(group));
      return group.map(() => undefined);
    } catch (err) {
      // Postgres refused the statement itself (the connection is fine): one edit's data may be to blame, so each is
      // stored on its own and only that one fails.
      if (group.length === 1 || !isPgDatabaseError(err)) throw err;
      return Promise.all(
        group.map((edit) =>
          this.db.sql.rows(insertEdit({ edit })).then(
            () => undefined,
            (e: Error) => e,
          ),
        ),
      );
    }
  }

  async findIdempotencyKey(clientId: string, key: string): Promise<IdempotencyKey | null> {
    const found = await this.db.idempotencyKey.findUnique({ where: { clientId_key: { clientId, key } } });
    if (found && found.expiresAt <= new Date()) {
      await this.db.idempotencyKey.deleteMany({ where: { clientId, key, expiresAt: { lte: new Date() } } });
      return null;
    }
    return found;
  }

  async deleteExpiredIdempotencyKeys(): Promise<number> {
    return (await this.db.idempotencyKey.deleteMany({ where: { expiresAt: { lte: new Date() } } })).count;
  }

  findById(id: string): Promise<Edit | null> {
    return this.db.edit.findUnique({ where: { id } });
  }

  /** The edit, only if `clientId` created it: to anyone else it does not exist. */
  findOwned(id: string, clientId: string): Promise<Edit | null> {
    return this.db.edit.findFirst({ where: { id, clientId } });
  }

  findByUpstreamJobId(upstreamJobId: string): Promise<Edit | null> {
    return this.db.edit.findUnique({ where: { upstreamJobId } });
  }

  history(id: string): Promise<EditTransition[]> {
    return this.db.editTransition.findMany({ where: { editId: id }, orderBy: { id: 'asc' } });
  }

  /** Newest first; `after` is the last row of the previous page. Fetches one extra row to know whether more exist. */
  async list(page: ListPage): Promise<{ edits: Edit[]; hasMore: boolean }> {
    const where: Prisma.EditWhereInput = {
      clientId: page.clientId,
      ...(page.status ? { status: page.status } : {}),
      ...(page.after ? { OR: [{ createdAt: { lt: page.after.createdAt } }, { createdAt: page.after.createdAt, id: { lt: page.after.id } }] } : {}),
    };
    const rows = await this.db.edit.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: page.limit + 1 });
    return { edits: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }

  /**
   * Moves an edit to `to` if the state machine allows it from where the edit is now: one statement that locks the
   * edit's row, reads its current status and updates it only if `to` may follow, so of two racing writers exactly one
   * moves it and writes history; the other finds the move no longer allowed and gets the edit as it is now.
   * A move into a terminal status also runs the terminal-move hooks, in the same statement.
   */
  async move(id: string, to: EditStatus, change: TransitionChange): Promise<TransitionResult> {
    const terminalHooks = isTerminal(to) ? (this.hooks.onTerminalMove ?? []) : [];
    const [row] = await this.db.sql.rows<MovedRow>(
      moveEdit({
        id,
        from: PREDECESSORS.get(to) ?? [],
        to,
        cause: change.cause,
        upstreamCode: change.upstreamCode ?? null,
        facts: change.data ?? {},
        onlyIf: change.onlyIf,
        alongside: terminalHooks.map((hook, i) => ({ name: `hook_${i}`, sql: hook.sql })),
        outboxFrom: terminalHooks.flatMap((hook, i) => (hook.outbox ? [`hook_${i}`] : [])),
        webhook: change.webhook,
        webhookOnlyIfMoved: change.webhookOnlyIfMoved,
        now: new Date(),
      }),
    );
    const webhookStored = change.webhook ? { webhookStored: (row?.webhookStored ?? 0) > 0 } : {};
    if (!row) return { moved: false, edit: null, ...webhookStored };
    const edit = editOf(row);
    if (!row.movedFrom) return { moved: false, edit, ...webhookStored };
    this.hooks.onMoved?.(edit, { from: row.movedFrom, to, cause: change.cause, upstreamCode: change.upstreamCode ?? null });
    return { moved: true, from: row.movedFrom, edit, outbox: row.outbox, ...webhookStored };
  }

  /** Writes facts that do not change the status, only while the edit is in one of `statuses`. */
  async updateFieldsIf(id: string, where: Prisma.EditWhereInput, data: Omit<Prisma.EditUpdateManyMutationInput, 'status'>): Promise<boolean> {
    const { count } = await this.db.edit.updateMany({ where: { ...where, id }, data });
    return count === 1;
  }

  /** Edits left in `statuses` since before `olderThan`: the sweeper's work list. */
  findStale(statuses: readonly EditStatus[], olderThan: Date, take: number): Promise<Pick<Edit, 'id' | 'status'>[]> {
    return this.db.edit.findMany({
      where: { status: { in: [...statuses] }, updatedAt: { lt: olderThan } },
      select: { id: true, status: true },
      orderBy: { updatedAt: 'asc' },
      take,
    });
  }

  /**
   * Claims up to `take` edits whose upstream job is due a status poll, pushing their next poll out by
   * `leaseMs` so that other workers polling at the same time skip them.
   */
  async claimDuePolls(now: Date, leaseMs: number, take: number): Promise<Edit[]> {
    const due = await this.db.edit.findMany({
      where: { status: { in: [...AT_UPSTREAM] }, upstreamJobId: { not: null }, nextPollAt: { lte: now } },
      orderBy: { nextPollAt: 'asc' },
      take,
    });
    const claimed: Edit[] = [];
    for (const edit of due) {
      const { count } = await this.db.edit.updateMany({
        where: { id: edit.id, nextPollAt: edit.nextPollAt },
        data: { nextPollAt: new Date(now.getTime() + leaseMs) },
      });
      if (count === 1) claimed.push(edit);
    }
    return claimed;
  }

  /** Appends a history row that records an event without a status change (a retry, a poll, a warning). */
  async note(editId: string, status: EditStatus, cause: string, upstreamCode?: string): Promise<void> {
    await this.db.editTransition.create({ data: { editId, fromStatus: status, toStatus: status, cause, upstreamCode: upstreamCode ?? null } });
  }

  // --- submit attempts: the fence against paying twice ---

  submitAttempts(editId: string): Promise<SubmitAttempt[]> {
    return this.db.submitAttempt.findMany({ where: { editId }, orderBy: { attempt: 'asc' } });
  }

  /**
   * Records that attempt `attempt` is about to leave, moving a queued edit to `submitting` in the same
   * statement. Returns null when the edit is no longer waiting to be submitted (cancelled, adopted a job
   * from a webhook) or another worker already claimed this attempt number; 'no-slot' when `maxInFlight` edits
   * are at PixelByte already.
   */
  async beginSubmitAttempt(editId: string, attempt: number, cause: string, maxInFlight?: number): Promise<SubmitAttempt | 'no-slot' | null> {
    const begun = await this.begin({ editId, attempt, cause, firstOnly: false }, maxInFlight);
    return begun === null || begun === 'no-slot' ? begun : begun.attempt;
  }

  /**
   * The worker's common case in one statement, with no reads before it: an edit that is queued and was never sent
   * gets its first attempt, and the edit comes back to be sent. Null when the edit is anything else (the caller
   * then reads it and decides); 'no-slot' as for beginSubmitAttempt.
   */
  claimFirstSubmit(editId: string, maxInFlight?: number): Promise<{ edit: Edit; attempt: SubmitAttempt } | 'no-slot' | null> {
    return this.begin({ editId, attempt: 1, cause: 'submit attempt 1', firstOnly: true }, maxInFlight);
  }

  private async begin(
    step: { editId: string; attempt: number; cause: string; firstOnly: boolean },
    maxInFlight: number | undefined,
  ): Promise<{ edit: Edit; attempt: SubmitAttempt } | 'no-slot' | null> {
    const statement = beginAttempt({ ...step, now: new Date() });
    try {
      const rows =
        maxInFlight === undefined
          ? await this.db.sql.rows(statement)
          : await this.db.sql.transaction(async (q) => {
              // One lock for every worker process: count and claim are one step, so the cap holds under any number of workers.
              await q.rows(Prisma.sql`SELECT pg_advisory_xact_lock(${UPSTREAM_SLOTS_LOCK}::int8)`);
              const [slots] = await q.rows<{ inFlight: number; waiting: boolean }>(slotsTaken(step.editId, step.firstOnly));
              // An edit that no longer waits is done with, whether or not a slot is free.
              if (!slots?.waiting) return [];
              if (slots.inFlight >= maxInFlight) return 'no-slot' as const;
              return q.rows(statement);
            });
      if (rows === 'no-slot') return rows;
      const [row] = rows;
      if (!row) return null;
      const before = editBeforeOf(row);
      const edit: Edit = before.status === 'queued' ? { ...before, status: 'submitting', updatedAt: row['attempt.startedAt'] as Date } : before;
      if (before.status === 'queued') this.hooks.onMoved?.(edit, { from: 'queued', to: 'submitting', cause: step.cause, upstreamCode: null });
      return { edit, attempt: attemptOf(row) };
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  /**
   * PixelByte took the edit: the attempt and the edit learn the job in ONE statement. Were they two
   * writes, a worker killed between them would leave an accepted attempt on an edit with no job, and the
   * next worker would send it again. A webhook may have moved the edit on already; then only the facts
   * are written (never onto an edit holding another job), never the status, so the late response cannot move
   * the edit backwards.
   */
  async recordSubmitAccepted(
    attemptId: bigint,
    editId: string,
    facts: { upstreamJobId: string } & EditFacts,
    whenMoving: { cause: string; data: EditFacts },
  ): Promise<void> {
    const { upstreamJobId, ...rest } = facts;
    const [row] = await this.db.sql.rows<MovedRow>(
      recordAccepted({ attemptId, editId, upstreamJobId, facts: rest, whenMoving: { cause: whenMoving.cause, facts: whenMoving.data }, now: new Date() }),
    );
    if (row?.movedFrom === 'submitting') {
      this.hooks.onMoved?.(editOf(row), { from: 'submitting', to: 'submitted', cause: whenMoving.cause, upstreamCode: null });
    }
  }

  async finishSubmitAttempt(
    id: bigint,
    result: { outcome: Exclude<SubmitOutcome, 'in_flight' | 'accepted'>; httpStatus?: number; upstreamCode?: string; message?: string; upstreamJobId?: string },
  ): Promise<void> {
    await this.db.submitAttempt.update({ where: { id }, data: { ...result, finishedAt: new Date() } });
  }

  // --- webhooks ---

  /** Stores a verified webhook. Returns false when this job+status was stored for this edit before (a repeat delivery). */
  async recordWebhook(event: WebhookEventInsert): Promise<boolean> {
    return (await this.db.sql.rows(insertWebhookEvent(event))).length === 1;
  }

  /** The edit a webhook names, with what its submits say and which edit holds the webhook's job, in one read. */
  async findForWebhook(editId: string, jobId: string): Promise<EditForWebhook | null> {
    const [row] = await this.db.sql.rows(editForWebhook(editId, jobId));
    return row ? editForWebhookOf(row) : null;
  }

  /**
   * For the orphan-job lookup: which of `jobIds` an edit, a submit attempt or a webhook of ours already
   * names, and when the submits of other edits whose outcome is unknown (in flight or lost) that started
   * within `started` began: any of them could own a job nobody knows. Runs only when a fence expires, so
   * unindexed columns are fine.
   */
  async upstreamJobEvidence(
    editId: string,
    jobIds: string[],
    started: { from: Date; to: Date },
  ): Promise<{ known: Set<string>; otherUncertainStarts: Date[] }> {
    const named = { upstreamJobId: { in: jobIds } };
    const [edits, attempts, webhooks, others] = await Promise.all([
      this.db.edit.findMany({ where: named, select: { upstreamJobId: true } }),
      this.db.submitAttempt.findMany({ where: named, select: { upstreamJobId: true } }),
      this.db.webhookEvent.findMany({ where: named, select: { upstreamJobId: true } }),
      this.db.submitAttempt.findMany({
        where: { editId: { not: editId }, outcome: { in: [...UNCERTAIN_OUTCOMES] }, startedAt: { gte: started.from, lte: started.to } },
        select: { startedAt: true },
      }),
    ]);
    const known = new Set([...edits, ...attempts, ...webhooks].map((row) => row.upstreamJobId).filter((id): id is string => id !== null));
    return { known, otherUncertainStarts: others.map((a) => a.startedAt) };
  }
}
