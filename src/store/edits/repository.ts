import type { Edit, EditTransition, IdempotencyKey, Prisma, SubmitAttempt } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { claimDuePolls } from './claimDuePolls.js';
import { type ClaimedSubmit, claimSubmit } from './claimSubmit.js';
import { type ChangePosition, type ClientChange, type ClientChangesRead, clientChanges, findManyOwned, historyCounts } from './clientChanges.js';
import type { EditFacts } from './columns.js';
import { type EditForWebhook, findForWebhook } from './findForWebhook.js';
import { finishSubmitAttempt, type SubmitFinish } from './finishSubmitAttempt.js';
import { deleteExpiredIdempotencyKeys, findIdempotencyKey } from './idempotencyKeys.js';
import { type CreateEdit, type CreateHook, createEdits, type NewEdit, type NewIdempotencyKey } from './insertEdits.js';
import {
  createMove,
  type EditMove,
  type MoveEdit,
  type MoveHook,
  type MoveListener,
  type Outbox,
  type TerminalMoveHook,
  type TransitionChange,
  type TransitionResult,
} from './moveEdit.js';
import { note } from './note.js';
import type { QueueLimits } from './onCreate/queueLimit.js';
import type { ListPage } from './reads.js';
import * as reads from './reads.js';
import { recordOutputMirror } from './recordOutputMirror.js';
import { recordSubmitAccepted } from './recordSubmitAccepted.js';
import { recordWebhook, type WebhookEventInsert } from './recordWebhook.js';
import type { EditStatus } from './status.js';
import { updateFieldsIf } from './updateFieldsIf.js';
import { upstreamJobEvidence } from './upstreamJobEvidence.js';

export { isUniqueViolation } from '../uniqueViolation.js';
export type {
  ChangePosition,
  ClientChange,
  ClientChangesRead,
  CreateHook,
  Edit,
  EditFacts,
  EditForWebhook,
  EditMove,
  EditTransition,
  IdempotencyKey,
  ListPage,
  MoveHook,
  MoveListener,
  NewEdit,
  NewIdempotencyKey,
  Outbox,
  SubmitAttempt,
  TerminalMoveHook,
  TransitionChange,
  TransitionResult,
  WebhookEventInsert,
};

export interface EditRepositoryHooks {
  /** Run in this order, each its own step of the move's statement. */
  onTerminalMove?: TerminalMoveHook[];
  /** The same, for a move into `storing`. */
  onStoringMove?: MoveHook[];
  onMoved?: MoveListener;
  onCreate?: CreateHook;
}

/**
 * The edits' store as the engine uses it: each method is one operation of its own file beside this one, which holds
 * its SQL, its parameters and its row decoding; this object only binds them to a database and the other features'
 * hooks. Every status change is one guarded compare-and-set statement (moveEdit.ts) that leaves a history row; the
 * store knows nothing of queues, so what a move wrote to an outbox is returned, not sent. The hot path (create,
 * moves, submit attempts, webhooks) runs as single SQL statements, each locking and re-checking the row it changes;
 * the rest is Prisma.
 */
export class EditRepository {
  private readonly createEdit: CreateEdit;
  private readonly moveEdit: MoveEdit;

  constructor(
    private readonly db: Db,
    private readonly hooks: EditRepositoryHooks = {},
  ) {
    this.createEdit = createEdits(db, hooks);
    this.moveEdit = createMove(db, hooks);
  }

  create(edit: NewEdit, idempotency?: NewIdempotencyKey, limits?: QueueLimits): Promise<Edit> {
    return this.createEdit(edit, idempotency, limits);
  }

  move(id: string, to: EditStatus, change: TransitionChange): Promise<TransitionResult> {
    return this.moveEdit(id, to, change);
  }

  findIdempotencyKey(clientId: string, key: string): Promise<IdempotencyKey | null> {
    return findIdempotencyKey(this.db, clientId, key);
  }

  deleteExpiredIdempotencyKeys(): Promise<number> {
    return deleteExpiredIdempotencyKeys(this.db);
  }

  findById(id: string): Promise<Edit | null> {
    return reads.findById(this.db, id);
  }

  findOwned(id: string, clientId: string): Promise<Edit | null> {
    return reads.findOwned(this.db, id, clientId);
  }

  findPastDeadline(now: Date, take: number): Promise<Edit[]> {
    return reads.findPastDeadline(this.db, now, take);
  }

  queuePosition(edit: Pick<Edit, 'id' | 'clientId' | 'priority' | 'createdAt'>): Promise<number> {
    return reads.queuePosition(this.db, edit);
  }

  findByUpstreamJobId(upstreamJobId: string): Promise<Edit | null> {
    return reads.findByUpstreamJobId(this.db, upstreamJobId);
  }

  history(id: string): Promise<EditTransition[]> {
    return reads.history(this.db, id);
  }

  /** A client's status changes after `after`, across its edits, in its event stream's order (clientChanges.ts). */
  clientChanges(clientId: string, after: ChangePosition, limit: number): Promise<ClientChangesRead> {
    return clientChanges(this.db, clientId, after, limit);
  }

  findManyOwned(ids: string[], clientId: string): Promise<Edit[]> {
    return findManyOwned(this.db, ids, clientId);
  }

  historyCounts(ids: string[]): Promise<Map<string, number>> {
    return historyCounts(this.db, ids);
  }

  list(page: ListPage): Promise<{ edits: Edit[]; hasMore: boolean }> {
    return reads.list(this.db, page);
  }

  updateFieldsIf(id: string, where: Prisma.EditWhereInput, data: Omit<Prisma.EditUpdateManyMutationInput, 'status'>): Promise<boolean> {
    return updateFieldsIf(this.db, id, where, data);
  }

  findStale(statuses: readonly EditStatus[], olderThan: Date, take: number): Promise<Pick<Edit, 'id' | 'status'>[]> {
    return reads.findStale(this.db, statuses, olderThan, take);
  }

  claimDuePolls(now: Date, leaseMs: number, take: number): Promise<Edit[]> {
    return claimDuePolls(this.db, now, leaseMs, take);
  }

  note(editId: string, status: EditStatus, cause: string, upstreamCode?: string): Promise<void> {
    return note(this.db, editId, status, cause, upstreamCode);
  }

  // --- submit attempts: the fence against paying twice ---

  submitAttempts(editId: string): Promise<SubmitAttempt[]> {
    return reads.submitAttempts(this.db, editId);
  }

  /**
   * Begins attempt `attempt`, moving a queued edit to `submitting` in the same statement. Null when the edit is no
   * longer waiting to be submitted (cancelled, adopted a job from a webhook) or another worker already claimed this
   * attempt number; 'no-slot' when `maxInFlight` edits are at PixelByte already.
   */
  async beginSubmitAttempt(editId: string, attempt: number, cause: string, maxInFlight?: number): Promise<SubmitAttempt | 'no-slot' | null> {
    const begun = await claimSubmit(this.db, this.hooks.onMoved, { editId, attempt, cause, firstOnly: false }, maxInFlight);
    return begun === null || begun === 'no-slot' ? begun : begun.attempt;
  }

  /**
   * The worker's common case in one statement, with no reads before it: an edit that is queued and was never sent
   * gets its first attempt, and the edit comes back to be sent. Null when the edit is anything else (the caller
   * then reads it and decides); 'no-slot' as for beginSubmitAttempt.
   */
  claimFirstSubmit(editId: string, maxInFlight?: number): Promise<ClaimedSubmit | 'no-slot' | null> {
    return claimSubmit(this.db, this.hooks.onMoved, { editId, attempt: 1, cause: 'submit attempt 1', firstOnly: true }, maxInFlight);
  }

  recordSubmitAccepted(
    attemptId: bigint,
    editId: string,
    facts: { upstreamJobId: string } & EditFacts,
    whenMoving: { cause: string; data: EditFacts },
  ): Promise<void> {
    return recordSubmitAccepted(this.db, this.hooks.onMoved, attemptId, editId, facts, whenMoving);
  }

  finishSubmitAttempt(id: bigint, result: SubmitFinish): Promise<void> {
    return finishSubmitAttempt(this.db, id, result);
  }

  // --- the mirror ---

  /** Writes `outputs[index].mirror` of an edit that is `storing`; false (nothing written) once it is not. */
  recordOutputMirror(editId: string, index: number, mirror: Record<string, unknown>): Promise<boolean> {
    return recordOutputMirror(this.db, editId, index, mirror);
  }

  // --- webhooks ---

  recordWebhook(event: WebhookEventInsert): Promise<boolean> {
    return recordWebhook(this.db, event);
  }

  findForWebhook(editId: string, jobId: string): Promise<EditForWebhook | null> {
    return findForWebhook(this.db, editId, jobId);
  }

  upstreamJobEvidence(editId: string, jobIds: string[], started: { from: Date; to: Date }): Promise<{ known: Set<string>; otherUncertainStarts: Date[] }> {
    return upstreamJobEvidence(this.db, editId, jobIds, started);
  }
}
