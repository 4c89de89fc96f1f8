import type { Prisma } from '../generated/prisma/client.js';
import { type EditRepository, isUniqueViolation, MAY_ADOPT_A_JOB, type TransitionChange, type TransitionResult } from './repository.js';
import type { EditStatus } from './status.js';
import type { UpstreamResult } from './upstreamResult.js';

/** Sends a committed move's outbox rows on their way, without making the caller wait. Must not throw. */
export type OutboxRelay = (ids: string[]) => void;

/** The repository as callers use it: status moves that can end an edit are made through EditTransitions. */
export type EditStore = Omit<EditRepository, 'transition'>;

/** Why a result was not applied although the state machine would have allowed it. */
export type ApplyRefusal = 'foreign-job' | 'job-of-another-edit';
export type ApplyResult = TransitionResult | { moved: false; edit: null; refused: ApplyRefusal };

/**
 * Status moves as every caller makes them: the repository's guarded move, then, once it has committed, what
 * it wrote to the outbox relayed. Being the one place that does both, no terminal move can forget its callback;
 * should the relay itself fail (Redis down, a crash), the callback sweeper finds the pending row.
 */
export class EditTransitions {
  constructor(
    private readonly edits: EditRepository,
    private readonly relayOutbox: OutboxRelay,
  ) {}

  async transition(id: string, to: EditStatus, change: TransitionChange): Promise<TransitionResult> {
    const result = await this.edits.transition(id, to, change);
    if (result.moved && result.outbox.length > 0) this.relayOutbox(result.outbox);
    return result;
  }

  /**
   * Brings an edit up to date with its upstream job through the state machine, so a webhook, a poll and a
   * late submit response can arrive in any order and any number of times: only forward moves happen.
   */
  async applyUpstreamResult(editId: string, result: UpstreamResult, cause: string): Promise<ApplyResult> {
    // Read afresh rather than trust the caller's copy: callers ask PixelByte first, and meanwhile a late
    // submit response may have adopted a job, which decides whether this result is foreign.
    const edit = await this.edits.findById(editId);
    if (edit?.upstreamJobId && edit.upstreamJobId !== result.jobId) {
      // A job that is not the one this edit adopted: never let it overwrite the edit.
      return { moved: false, edit: null, refused: 'foreign-job' };
    }
    const data: Prisma.EditUpdateManyMutationInput = { upstreamStatus: result.status };
    let onlyIf: Prisma.EditWhereInput | undefined;
    if (edit && !edit.upstreamJobId) {
      // A webhook can beat the submit response (or the response was lost): adopt the job it names, but only
      // onto an edit one of whose submits may have made it. Checked in the very UPDATE that adopts, so an
      // accept, another adoption or a cancel landing meanwhile makes it a no-op, never a second job.
      data.upstreamJobId = result.jobId;
      onlyIf = MAY_ADOPT_A_JOB;
    }
    try {
      const applied = await this.transition(editId, result.status, { cause, onlyIf, ...changeFor(result, data) });
      // The submit's own answer recorded this very job while we tried to adopt it: nothing is left to adopt,
      // only the result to apply, which a second pass does without the adoption guard.
      if (onlyIf && !applied.moved && applied.edit?.upstreamJobId === result.jobId) return this.applyUpstreamResult(editId, result, cause);
      return applied;
    } catch (err) {
      // Another edit holds this job (Edit.upstreamJobId is unique): it is not this edit's to take.
      if (onlyIf && isUniqueViolation(err)) return { moved: false, edit: null, refused: 'job-of-another-edit' };
      throw err;
    }
  }
}

function changeFor(result: UpstreamResult, data: Prisma.EditUpdateManyMutationInput): Omit<TransitionChange, 'cause'> {
  switch (result.status) {
    case 'processing':
      return { data };
    case 'completed':
      return { data: { ...data, outputs: result.outputs as unknown as Prisma.InputJsonValue, completedAt: result.completedAt ?? new Date() } };
    case 'failed':
      return {
        upstreamCode: result.code,
        data: { ...data, errorCode: result.code, errorMessage: result.message, completedAt: result.completedAt ?? new Date() },
      };
    case 'cancelled':
      return { data: { ...data, completedAt: result.completedAt ?? new Date() } };
  }
}
