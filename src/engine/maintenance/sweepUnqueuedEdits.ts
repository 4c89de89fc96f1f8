import type { Logger } from 'pino';
import type { EditRepository } from '../../store/edits/repository.js';
import { AWAITING_SUBMIT } from '../../store/edits/status.js';

export interface SweeperDeps {
  edits: Pick<EditRepository, 'findStale'>;
  /**
   * Makes sure the submit queue holds a live job for the edit. Returns the state of the job it replaced
   * ('missing', 'completed', 'failed', …), or null when a live job was there already.
   */
  ensureSubmitJob(editId: string): Promise<string | null>;
  logger: Logger;
  /** An edit waiting this long without a change is checked for a live queue entry. */
  staleAfterMs: number;
}

/**
 * The database is the outbox: an edit awaiting its submit must have a live job in the submit queue. Redis
 * down at accept time, a crash between commit and enqueue, or a job BullMQ gave up on all leave an edit
 * without one; this puts it back. Safe to run in every worker at once.
 */
export async function sweepUnqueuedEdits(deps: SweeperDeps, batch = 500): Promise<number> {
  const stale = await deps.edits.findStale(AWAITING_SUBMIT, new Date(Date.now() - deps.staleAfterMs), batch);
  let requeued = 0;
  for (const edit of stale) {
    // A job completed or failed in BullMQ while the edit still waits is started over.
    const previousJobState = await deps.ensureSubmitJob(edit.id);
    if (previousJobState === null) continue;
    requeued += 1;
    deps.logger.info({ editId: edit.id, status: edit.status, previousJobState }, 'requeued an edit that had no live queue entry');
  }
  return requeued;
}
