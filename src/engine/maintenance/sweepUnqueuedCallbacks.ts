import type { Logger } from 'pino';
import type { CallbackRepository } from '../../store/callbacks/repository.js';

export interface CallbackSweeperDeps {
  deliveries: Pick<CallbackRepository, 'findOverdue'>;
  /** Makes sure the callback queue holds a live job for the delivery; true when it had to add one. */
  ensureCallbackJob(deliveryId: string): Promise<boolean>;
  logger: Logger;
  /** A delivery overdue by this much is checked for a live queue entry. */
  staleAfterMs: number;
}

/**
 * The callback outbox's relay: a pending delivery must have a live job. Redis down when the edit finished,
 * a crash between that commit and the enqueue, a worker that died mid-attempt (its lease runs out), or a
 * job BullMQ gave up on all leave one without; this puts it back. Safe to run in every worker at once.
 */
export async function sweepUnqueuedCallbacks(deps: CallbackSweeperDeps, batch = 500): Promise<number> {
  const overdue = await deps.deliveries.findOverdue(new Date(Date.now() - deps.staleAfterMs), batch);
  let requeued = 0;
  for (const delivery of overdue) {
    if (!(await deps.ensureCallbackJob(delivery.id))) continue;
    requeued += 1;
    deps.logger.info({ deliveryId: delivery.id, editId: delivery.editId }, 'requeued a callback that had no live queue entry');
  }
  return requeued;
}
