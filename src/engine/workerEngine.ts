import type { Logger } from 'pino';
import { type CallbackDecision, type DeliverCallbackDeps, deliverCallback } from './callbacks/deliverCallback.js';
import { type DeadlineDeps, enforceDeadlines } from './maintenance/enforceDeadlines.js';
import { type ReconcilerDeps, reconcileOverdueEdits } from './maintenance/reconcileOverdueEdits.js';
import { type CallbackSweeperDeps, sweepUnqueuedCallbacks } from './maintenance/sweepUnqueuedCallbacks.js';
import { type SweeperDeps, sweepUnqueuedEdits } from './maintenance/sweepUnqueuedEdits.js';
import { type MirrorSweeperDeps, sweepUnqueuedMirrors } from './maintenance/sweepUnqueuedMirrors.js';
import { type MirrorDecision, type MirrorEditDeps, mirrorEdit } from './mirror/mirrorEdit.js';
import { type SubmitDecision, type SubmitEditDeps, submitEdit } from './submit/submitEdit.js';

/** The parts the worker side of the engine is made of, built by the composition root. */
export interface WorkerEngineParts {
  submit: SubmitEditDeps;
  reconcile: ReconcilerDeps;
  sweepEdits: SweeperDeps;
  deadlines: DeadlineDeps;
  /** Absent when callbacks are off (no signing secret): deliveries then wait in the database. */
  callbacks?: { deliver: DeliverCallbackDeps; sweep: CallbackSweeperDeps };
  /** Absent without a storage bucket: no edit is ever `storing` then. */
  mirror?: { run: MirrorEditDeps; sweep: MirrorSweeperDeps };
  expireIdempotencyKeys(): Promise<number>;
  logger: Logger;
}

/** One step of the housekeeping every worker process runs; each is safe to run in many processes at once. */
export interface MaintenanceStep {
  name: string;
  run(): Promise<unknown>;
}

/**
 * What the queue's workers ask of the engine: each operation a plain function of its job's id, returning a decision
 * (done, retry in N, pause) that the queue turns into BullMQ moves; the engine knows nothing of BullMQ.
 */
export interface WorkerEngine {
  submit(editId: string): Promise<SubmitDecision>;
  /** Absent when callbacks are off. */
  deliver?: (deliveryId: string) => Promise<CallbackDecision>;
  /** Absent without a storage bucket. */
  mirror?: (editId: string) => Promise<MirrorDecision>;
  maintenance: MaintenanceStep[];
  logger: Logger;
}

export function createWorkerEngine(parts: WorkerEngineParts): WorkerEngine {
  const { callbacks, mirror } = parts;
  return {
    submit: (editId) => submitEdit(editId, parts.submit),
    ...(callbacks ? { deliver: (deliveryId: string) => deliverCallback(deliveryId, callbacks.deliver) } : {}),
    ...(mirror ? { mirror: (editId: string) => mirrorEdit(editId, mirror.run) } : {}),
    maintenance: [
      { name: 'sweep', run: () => sweepUnqueuedEdits(parts.sweepEdits) },
      ...(callbacks ? [{ name: 'sweep callbacks', run: () => sweepUnqueuedCallbacks(callbacks.sweep) }] : []),
      ...(mirror ? [{ name: 'sweep mirrors', run: () => sweepUnqueuedMirrors(mirror.sweep) }] : []),
      { name: 'reconcile', run: () => reconcileOverdueEdits(parts.reconcile) },
      { name: 'enforce deadlines', run: () => enforceDeadlines(parts.deadlines) },
      { name: 'expire idempotency keys', run: () => parts.expireIdempotencyKeys() },
    ],
    logger: parts.logger,
  };
}
