import type { Logger } from 'pino';
import type { MirrorTaskRepository } from '../../store/mirrors/repository.js';

export interface MirrorSweeperDeps {
  tasks: Pick<MirrorTaskRepository, 'findOverdue'>;
  /** Makes sure the mirror queue holds a live job for the edit; true when it had to add one. */
  ensureMirrorJob(editId: string): Promise<boolean>;
  logger: Logger;
  /** A task overdue by this much is checked for a live queue entry. */
  staleAfterMs: number;
}

/**
 * The mirror outbox's relay: an unfinished mirror task must have a live job. Redis down when the edit moved to
 * `storing`, a crash between that commit and the enqueue, a worker killed mid-mirror whose job BullMQ gave up on,
 * all leave one without; this puts it back, so no edit stays `storing`. Safe to run in every worker at once.
 */
export async function sweepUnqueuedMirrors(deps: MirrorSweeperDeps, batch = 500): Promise<number> {
  const overdue = await deps.tasks.findOverdue(new Date(Date.now() - deps.staleAfterMs), batch);
  let requeued = 0;
  for (const task of overdue) {
    if (!(await deps.ensureMirrorJob(task.editId))) continue;
    requeued += 1;
    deps.logger.info({ editId: task.editId }, 'requeued a mirror that had no live queue entry');
  }
  return requeued;
}
