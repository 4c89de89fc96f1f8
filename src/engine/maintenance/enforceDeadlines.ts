import type { Logger } from 'pino';
import type { Edit } from '../../store/edits/repository.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { UpstreamError } from '../../upstream/errors.js';
import type { EditStore, EditTransitions } from '../transitions.js';

export interface DeadlineDeps {
  edits: Pick<EditStore, 'findPastDeadline' | 'updateFieldsIf' | 'note'>;
  transitions: Pick<EditTransitions, 'transition'>;
  pixelbyte: Pick<PixelByteClient, 'cancelJob'>;
  logger: Logger;
  batch?: number;
}

export const DEADLINE_CAUSE = 'deadline';

/**
 * Edits whose deadline has passed, each dealt with once: one still queued is cancelled before anything is sent (so
 * nothing is charged); one pending at PixelByte is cancelled there, its refund recorded as a client's cancel records
 * it; one PixelByte is already processing finishes, marked deadlineMissed. An edit mid-submit is left to land at
 * PixelByte first and is met by a later sweep. Safe in many processes at once: every move is guarded by status.
 */
export async function enforceDeadlines(deps: DeadlineDeps, now = new Date()): Promise<number> {
  const due = await deps.edits.findPastDeadline(now, deps.batch ?? 100);
  for (const edit of due) {
    if (edit.status === 'queued') await cancelQueued(deps, edit);
    else if (edit.status === 'submitted' && edit.upstreamJobId) await cancelUpstream(deps, edit, edit.upstreamJobId);
    else if (edit.status === 'processing') await markMissed(deps, edit, 'PixelByte was already processing it');
  }
  return due.length;
}

async function cancelQueued(deps: DeadlineDeps, edit: Edit): Promise<void> {
  await deps.transitions.transition(edit.id, 'cancelled', {
    cause: DEADLINE_CAUSE,
    // A worker that claimed it meanwhile sends it: from `submitting` on, the edit is PixelByte's to cancel.
    onlyFrom: ['queued'],
    data: {
      errorCode: 'DEADLINE_PASSED',
      errorMessage: `The deadline (${edit.deadlineAt?.toISOString()}) passed before the edit was sent to PixelByte; nothing was charged`,
      completedAt: new Date(),
    },
  });
}

async function cancelUpstream(deps: DeadlineDeps, edit: Edit, jobId: string): Promise<void> {
  let refund;
  try {
    refund = await deps.pixelbyte.cancelJob(jobId);
  } catch (err) {
    // PixelByte refuses a job it has started: it runs to the end.
    if (err instanceof UpstreamError && err.kind === 'rejected' && !err.retryable)
      return markMissed(deps, edit, `PixelByte would not cancel job ${jobId} (${err.code})`);
    deps.logger.warn({ err, editId: edit.id, jobId }, 'could not ask PixelByte to cancel an edit past its deadline; the next sweep asks again');
    return;
  }
  await deps.transitions.transition(edit.id, 'cancelled', {
    cause: `${DEADLINE_CAUSE}: cancelled upstream (job ${jobId})`,
    onlyFrom: ['submitted', 'processing'],
    data: {
      upstreamStatus: 'cancelled',
      refundedMicroCents: refund.refundedMicroCents ?? null,
      errorCode: 'DEADLINE_PASSED',
      errorMessage: `The deadline (${edit.deadlineAt?.toISOString()}) passed while PixelByte had not started the job; it was cancelled there`,
      completedAt: new Date(),
    },
  });
}

async function markMissed(deps: DeadlineDeps, edit: Edit, why: string): Promise<void> {
  const marked = await deps.edits.updateFieldsIf(edit.id, { status: { in: ['submitted', 'processing'] }, deadlineMissed: false }, { deadlineMissed: true });
  if (marked) await deps.edits.note(edit.id, edit.status, `deadline passed; ${why}, so it finishes with deadlineMissed`);
}
