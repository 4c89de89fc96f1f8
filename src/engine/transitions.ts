import type { Prisma } from '../generated/prisma/client.js';
import {
  type EditFacts,
  type EditRepository,
  isUniqueViolation,
  type TransitionChange,
  type TransitionResult,
  type WebhookEventInsert,
} from '../store/edits/repository.js';
import type { EditStatus } from '../store/edits/status.js';
import type { UpstreamResult } from './intake/upstreamResult.js';

/** Sends a committed move's outbox rows on their way, without making the caller wait. Must not throw. */
export type OutboxRelay = (ids: string[]) => void;

/** A relay per outbox; the mirrors' only when a storage bucket is configured (no move writes to it otherwise). */
export interface OutboxRelays {
  callbacks: OutboxRelay;
  mirrors?: OutboxRelay;
}

export interface TransitionOptions {
  /**
   * A storage bucket is configured: a completed upstream result moves the edit to `storing` (its mirror task written
   * by the same statement), and only the mirror moves it on to `completed`, once its outputs are in the bucket.
   */
  mirroring?: boolean;
}

/** The repository as callers use it: status moves that can end an edit are made through EditTransitions. */
export type EditStore = Omit<EditRepository, 'move'>;

/** Why a result was not applied although the state machine would have allowed it. */
export type ApplyRefusal = 'foreign-job' | 'job-of-another-edit';
export type ApplyResult = TransitionResult | { moved: false; edit: null; refused: ApplyRefusal; webhookStored?: boolean };

/**
 * Status moves as every caller makes them: the repository's guarded move, then, once it has committed, what
 * it wrote to the outbox relayed. Being the one place that does both, no terminal move can forget its callback;
 * should the relay itself fail (Redis down, a crash), the callback sweeper finds the pending row.
 */
export class EditTransitions {
  private readonly relays: OutboxRelays;

  constructor(
    private readonly edits: EditRepository,
    relays: OutboxRelay | OutboxRelays,
    private readonly options: TransitionOptions = {},
  ) {
    this.relays = typeof relays === 'function' ? { callbacks: relays } : relays;
  }

  async transition(id: string, to: EditStatus, change: TransitionChange): Promise<TransitionResult> {
    const result = await this.edits.move(id, to, change);
    if (result.moved) {
      const { callbacks, mirrors } = result.outbox;
      if (callbacks.length > 0) this.relays.callbacks(callbacks);
      if (mirrors.length > 0) this.relays.mirrors?.(mirrors);
    }
    return result;
  }

  /**
   * Brings an edit up to date with its upstream job through the state machine, so a webhook, a poll and a
   * late submit response can arrive in any order and any number of times: only forward moves happen.
   * With `webhook`, the webhook is stored in the same statement (once, however often it is delivered); with
   * `only.ifMoved`, only if the edit moves. With `only.oneImageOrdered`, only onto an edit that asked for one image.
   */
  async applyUpstreamResult(
    editId: string,
    result: UpstreamResult,
    cause: string,
    webhook?: WebhookEventInsert,
    only: { oneImageOrdered?: boolean; ifMoved?: boolean } = {},
  ): Promise<ApplyResult> {
    // The job becomes the edit's in the very statement that applies its result, and only onto an edit that holds
    // this job already, or holds none and one of whose submits may have made it: checked on the locked row, so an
    // accept, another adoption or a cancel landing meanwhile is seen, and a foreign job never overwrites the edit.
    const data: EditFacts = { upstreamStatus: result.status, upstreamJobId: result.jobId };
    const storing = result.status === 'completed' && this.options.mirroring === true;
    try {
      const applied = await this.transition(editId, storing ? 'storing' : result.status, {
        cause,
        guard: { takesJob: result.jobId, oneImageOrdered: only.oneImageOrdered },
        webhook,
        webhookOnlyIfMoved: only.ifMoved,
        ...changeFor(result, data, storing),
      });
      if (!applied.moved && applied.edit?.upstreamJobId && applied.edit.upstreamJobId !== result.jobId) {
        return { moved: false, edit: null, refused: 'foreign-job', webhookStored: applied.webhookStored };
      }
      return applied;
    } catch (err) {
      // Another edit holds this job (Edit.upstreamJobId is unique): it is not this edit's to take.
      if (isUniqueViolation(err)) return { moved: false, edit: null, refused: 'job-of-another-edit' };
      throw err;
    }
  }
}

/** `storing`: the completed result is held while the mirror stores its outputs; the edit's completedAt is the mirror's to set. */
function changeFor(result: UpstreamResult, data: EditFacts, storing: boolean): Omit<TransitionChange, 'cause'> {
  switch (result.status) {
    case 'processing':
      return { data };
    case 'completed': {
      const outputs = result.outputs as unknown as Prisma.InputJsonValue;
      return { data: storing ? { ...data, outputs } : { ...data, outputs, completedAt: result.completedAt ?? new Date() } };
    }
    case 'failed':
      return {
        upstreamCode: result.code,
        data: { ...data, errorCode: result.code, errorMessage: result.message, completedAt: result.completedAt ?? new Date() },
      };
    case 'cancelled':
      return { data: { ...data, completedAt: result.completedAt ?? new Date() } };
  }
}
