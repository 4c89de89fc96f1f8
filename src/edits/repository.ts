import type { Edit, EditTransition, IdempotencyKey, SubmitAttempt } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { SubmitOutcome } from '../generated/prisma/enums.js';
import type { Db } from '../infra/prisma.js';
import { AT_UPSTREAM, canMove, type EditStatus, isAwaitingSubmit, isTerminal, UPSTREAM_SLOT_HOLDERS } from './status.js';

export type { Edit, EditTransition, IdempotencyKey, SubmitAttempt };

export interface NewEdit {
  id: string;
  model: string;
  input: Prisma.InputJsonValue;
  callbackUrl?: string;
  metadata?: Prisma.InputJsonValue;
  clientId: string;
  estimatedCostMicroCents: number;
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
  data?: Omit<Prisma.EditUpdateManyMutationInput, 'status'>;
  /** A further condition checked in the same guarded update; when it does not hold, nothing moves. */
  onlyIf?: Prisma.EditWhereInput;
}

/** `outbox`: ids of the outbox rows the move wrote, to be relayed once it has committed (see EditTransitions). */
export type TransitionResult = { moved: true; from: EditStatus; edit: Edit; outbox: string[] } | { moved: false; edit: Edit | null };

/** One guarded status change: from the status the caller expects to the next. */
interface Move extends TransitionChange {
  from: EditStatus;
  to: EditStatus;
}

/**
 * What another feature adds to a move into a terminal status, inside the move's own transaction, so that it
 * exists exactly when the move does (the callbacks feature writes its outbox row here). Returns the ids of
 * the rows it wrote; the caller relays them after the commit.
 */
export type TerminalMoveHook = (tx: Prisma.TransactionClient, edit: Edit) => Promise<string[]>;

/**
 * What another feature adds to storing a new edit, inside the same transaction (the budgets feature reserves its
 * cost here). Throwing refuses the edit: nothing is stored.
 */
export type CreateHook = (tx: Prisma.TransactionClient, edit: Edit) => Promise<void>;

/** One status change, as the history row records it (`from` is null when the edit is stored). */
export interface EditMove {
  from: EditStatus | null;
  to: EditStatus;
  cause: string;
  upstreamCode: string | null;
}

/**
 * Told of every status change as it is written: inside the move's transaction (a move whose transaction then fails
 * is followed by that failure's own error), and once a new edit is stored. Must not throw.
 */
export type MoveListener = (edit: Edit, move: EditMove) => void;

export interface EditRepositoryHooks {
  onTerminalMove?: TerminalMoveHook;
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
const UPSTREAM_SLOTS_LOCK = 7_262_001; // any constant; names the advisory lock guarding upstream slots
export const isUniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === UNIQUE_VIOLATION;

/**
 * An edit that may take on a job PixelByte names without having heard of it from a submit response: it has
 * no job yet, and one of its submits may have created one (in flight, or its answer was lost).
 */
export const MAY_ADOPT_A_JOB: Prisma.EditWhereInput = { upstreamJobId: null, submitAttempts: { some: { outcome: { in: ['in_flight', 'unknown'] } } } };

/**
 * Prisma queries for edits. Every status change goes through `move`, a guarded compare-and-set that leaves a
 * history row; the repository knows nothing of queues, so what a move wrote to an outbox is returned, not sent.
 */
export class EditRepository {
  constructor(
    private readonly db: Db,
    private readonly hooks: EditRepositoryHooks = {},
  ) {}

  /**
   * Stores a new queued edit and its first history row; with `idempotency`, also the caller's key and the
   * response it gets, all in one transaction, so a key never exists without its edit or the reverse.
   * A concurrent request with the same key makes this throw a unique violation.
   */
  async create(edit: NewEdit, idempotency?: NewIdempotencyKey): Promise<Edit> {
    const stored = await this.db.$transaction(async (tx) => {
      const created = await tx.edit.create({ data: { ...edit, status: 'queued' } });
      await tx.editTransition.create({ data: { editId: edit.id, fromStatus: null, toStatus: 'queued', cause: 'accepted' } });
      if (idempotency) {
        const { respond, ...key } = idempotency;
        await tx.idempotencyKey.create({ data: { ...key, editId: edit.id, responseStatus: 202, responseBody: respond(created) } });
      }
      // Last, so a row lock the hook takes (the budget's, per client and day) is held only until the commit.
      if (this.hooks.onCreate) await this.hooks.onCreate(tx, created);
      return created;
    });
    this.hooks.onMoved?.(stored, { from: null, to: 'queued', cause: 'accepted', upstreamCode: null });
    return stored;
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
   * Moves an edit to `to` if the state machine allows it from where the edit is now. The update is a
   * compare-and-set on the status just read, so of two racing writers exactly one wins and writes history;
   * the loser re-reads and finds the move no longer allowed (or allowed from the new status).
   */
  async transition(id: string, to: EditStatus, change: TransitionChange): Promise<TransitionResult> {
    for (;;) {
      const current = await this.db.edit.findUnique({ where: { id } });
      if (!current || !canMove(current.status, to)) return { moved: false, edit: current };
      const moved = await this.db.$transaction((tx) => this.move(tx, id, { ...change, from: current.status, to }));
      if (moved) return { moved: true, from: current.status, ...moved };
      if (change.onlyIf) {
        // Nothing moved with the status unchanged: the condition failed, and would fail again.
        const now = await this.db.edit.findUnique({ where: { id } });
        if (now?.status === current.status) return { moved: false, edit: now };
      }
    }
  }

  /**
   * The one way a status changes, inside the caller's transaction: the update holds only while the edit is
   * still in `from` (and `onlyIf` holds), so a racing writer that got there first makes it a no-op. A move
   * into a terminal status also runs the terminal-move hook. Null when nothing moved.
   */
  private async move(tx: Prisma.TransactionClient, id: string, move: Move): Promise<{ edit: Edit; outbox: string[] } | null> {
    if (!canMove(move.from, move.to)) return null;
    const { count } = await tx.edit.updateMany({ where: { AND: [{ id, status: move.from }, move.onlyIf ?? {}] }, data: { ...move.data, status: move.to } });
    if (count === 0) return null;
    await tx.editTransition.create({
      data: { editId: id, fromStatus: move.from, toStatus: move.to, cause: move.cause, upstreamCode: move.upstreamCode ?? null },
    });
    const edit = await tx.edit.findUniqueOrThrow({ where: { id } });
    this.hooks.onMoved?.(edit, { from: move.from, to: move.to, cause: move.cause, upstreamCode: move.upstreamCode ?? null });
    const outbox = isTerminal(move.to) && this.hooks.onTerminalMove ? await this.hooks.onTerminalMove(tx, edit) : [];
    return { edit, outbox };
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
   * transaction. Returns null when the edit is no longer waiting to be submitted (cancelled, adopted a job
   * from a webhook) or another worker already claimed this attempt number.
   */
  async beginSubmitAttempt(editId: string, attempt: number, cause: string, maxInFlight?: number): Promise<SubmitAttempt | 'no-slot' | null> {
    try {
      return await this.db.$transaction(async (tx) => {
        const edit = await tx.edit.findUnique({ where: { id: editId }, select: { status: true, upstreamJobId: true } });
        if (!edit || edit.upstreamJobId || !isAwaitingSubmit(edit.status)) return null;
        if (maxInFlight !== undefined) {
          // One lock for every worker process: count and claim are one step, so the cap holds under any number of workers.
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${UPSTREAM_SLOTS_LOCK})`;
          const inFlight = await tx.edit.count({ where: { status: { in: [...UPSTREAM_SLOT_HOLDERS] }, id: { not: editId } } });
          if (inFlight >= maxInFlight) return 'no-slot';
        }
        if (edit.status === 'queued') {
          if (!(await this.move(tx, editId, { from: 'queued', to: 'submitting', cause }))) return null;
        } else {
          await tx.editTransition.create({ data: { editId, fromStatus: 'submitting', toStatus: 'submitting', cause } });
        }
        // Every submit from this release on sends the tokenized webhookUrl (submit/submitEdit.ts webhookUrlFor).
        return tx.submitAttempt.create({ data: { editId, attempt, tokenizedWebhookUrl: true } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  /**
   * PixelByte took the edit: the attempt and the edit learn the job in ONE transaction. Were they two
   * writes, a worker killed between them would leave an accepted attempt on an edit with no job, and the
   * next worker would send it again. A webhook may have moved the edit on already; then only the facts
   * are written, never the status, so the late response cannot move the edit backwards.
   */
  async recordSubmitAccepted(
    attemptId: bigint,
    editId: string,
    facts: { upstreamJobId: string } & Omit<Prisma.EditUpdateManyMutationInput, 'status' | 'upstreamJobId'>,
    whenMoving: { cause: string; data: Omit<Prisma.EditUpdateManyMutationInput, 'status'> },
  ): Promise<void> {
    await this.db.$transaction(async (tx) => {
      await tx.submitAttempt.update({
        where: { id: attemptId },
        data: { outcome: 'accepted', httpStatus: 200, upstreamJobId: facts.upstreamJobId, finishedAt: new Date() },
      });
      const moved = await this.move(tx, editId, { from: 'submitting', to: 'submitted', cause: whenMoving.cause, data: { ...facts, ...whenMoving.data } });
      if (!moved) await tx.edit.updateMany({ where: { id: editId, OR: [{ upstreamJobId: null }, { upstreamJobId: facts.upstreamJobId }] }, data: facts });
    });
  }

  async finishSubmitAttempt(
    id: bigint,
    result: { outcome: Exclude<SubmitOutcome, 'in_flight' | 'accepted'>; httpStatus?: number; upstreamCode?: string; message?: string; upstreamJobId?: string },
  ): Promise<void> {
    await this.db.submitAttempt.update({ where: { id }, data: { ...result, finishedAt: new Date() } });
  }

  // --- webhooks ---

  /** Stores a verified webhook. Returns false when this job+status was stored for this edit before (a repeat delivery). */
  async recordWebhook(event: { editId: string; upstreamJobId: string; status: string; rawBody: string; signedAt: Date }): Promise<boolean> {
    try {
      await this.db.webhookEvent.create({ data: event });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
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
        where: { editId: { not: editId }, outcome: { in: ['in_flight', 'unknown'] }, startedAt: { gte: started.from, lte: started.to } },
        select: { startedAt: true },
      }),
    ]);
    const known = new Set([...edits, ...attempts, ...webhooks].map((row) => row.upstreamJobId).filter((id): id is string => id !== null));
    return { known, otherUncertainStarts: others.map((a) => a.startedAt) };
  }
}
