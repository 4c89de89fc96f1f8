import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { EditRepository } from '../edits/repository.js';
import { deliverCallback, type DeliverCallbackDeps } from './deliverCallback.js';
import { callbackJobPayload, QUEUE_NAMES, submitJobPayload, type CallbackJobPayload, type EditQueues, type SubmitJobPayload } from './queues.js';
import { submitEdit, type SubmitEditDeps } from './submitEdit.js';
import { PeriodicTask } from './periodicTask.js';
import { reconcileOverdueEdits, type ReconcilerDeps } from './reconciler.js';
import { sweepUnqueuedEdits } from './sweeper.js';
import { sweepUnqueuedCallbacks } from './sweepCallbacks.js';

const UNLIMITED = Number.MAX_SAFE_INTEGER - 1;

export interface WorkerDeps {
  connection: ConnectionOptions;
  prefix: string;
  queues: EditQueues;
  edits: EditRepository;
  logger: Logger;
  concurrency: number;
  lockDurationMs: number;
  sweepIntervalMs: number;
  /** BullMQ's queue-wide limiter: shared by every worker process on this queue. */
  maxSubmitsPerMinute?: number;
  submit: Omit<SubmitEditDeps, 'edits' | 'logger'>;
  reconcile: Omit<ReconcilerDeps, 'edits' | 'logger'>;
  /** Absent when callbacks are off (no signing secret): deliveries then wait in the database. */
  callbacks?: Omit<DeliverCallbackDeps, 'edits' | 'logger'>;
}

export interface RunningWorkers {
  submitWorker: Worker<SubmitJobPayload>;
  callbackWorker?: Worker<CallbackJobPayload>;
  /** Stops taking jobs, lets the ones in flight finish, and stops the sweeper. */
  close(): Promise<void>;
}

export function startWorkers(deps: WorkerDeps): RunningWorkers {
  const logger = deps.logger.child({ component: 'worker' });
  const submitDeps: SubmitEditDeps = { ...deps.submit, edits: deps.edits, logger };

  const submitWorker: Worker<SubmitJobPayload> = new Worker<SubmitJobPayload>(
    QUEUE_NAMES.submit,
    async (job: Job<SubmitJobPayload>, token?: string) => {
      const { editId } = submitJobPayload.parse(job.data);
      const decision = await submitEdit(editId, submitDeps);
      logger.debug({ editId, decision }, 'submit job step');
      if (decision.kind === 'retry') {
        // Our own schedule, counted in the database: BullMQ's attempts are kept for infrastructure failures.
        await job.moveToDelayed(Date.now() + decision.delayMs, token);
        throw new DelayedError();
      }
      if (decision.kind === 'pause-queue') {
        await submitWorker.rateLimit(decision.delayMs);
        throw Worker.RateLimitError();
      }
      return decision.reason;
    },
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
      lockDuration: deps.lockDurationMs,
      stalledInterval: deps.lockDurationMs,
      autorun: true,
      // BullMQ only honours rateLimit() (our 429 pause) when a limiter is configured, so there always is one.
      limiter: { max: deps.maxSubmitsPerMinute ?? UNLIMITED, duration: 60_000 },
    },
  );
  submitWorker.on('failed', (job, err) => logger.error({ err, editId: job?.data.editId, attemptsMade: job?.attemptsMade }, 'submit job failed'));
  submitWorker.on('error', (err) => logger.error({ err }, 'submit worker error'));

  const callbackWorker = deps.callbacks && startCallbackWorker(deps, { ...deps.callbacks, edits: deps.edits, logger });
  const deliveries = deps.callbacks?.deliveries;

  // Housekeeping every worker runs: each step is safe to run in many processes at once.
  const housekeeping = new PeriodicTask(deps.sweepIntervalMs, logger, [
    ['sweep', () => sweepUnqueuedEdits({ edits: deps.edits, submitQueue: deps.queues.submit, logger, staleAfterMs: deps.sweepIntervalMs })],
    ['sweep callbacks', async () => deliveries && sweepUnqueuedCallbacks({ deliveries, callbackQueue: deps.queues.callback, logger, staleAfterMs: deps.sweepIntervalMs })],
    ['reconcile', () => reconcileOverdueEdits({ ...deps.reconcile, edits: deps.edits, logger })],
    ['expire idempotency keys', () => deps.edits.deleteExpiredIdempotencyKeys()],
  ]);

  return {
    submitWorker,
    callbackWorker,
    close: async () => {
      await housekeeping.stop();
      await Promise.all([submitWorker.close(), callbackWorker?.close()]);
    },
  };
}

/** Callbacks have a queue of their own, so a slow client never delays a submit or a webhook. */
function startCallbackWorker(deps: WorkerDeps, callbackDeps: DeliverCallbackDeps): Worker<CallbackJobPayload> {
  const worker: Worker<CallbackJobPayload> = new Worker<CallbackJobPayload>(
    QUEUE_NAMES.callback,
    async (job: Job<CallbackJobPayload>, token?: string) => {
      const { deliveryId } = callbackJobPayload.parse(job.data);
      const decision = await deliverCallback(deliveryId, callbackDeps);
      if (decision.kind === 'retry') {
        // The schedule lives in the delivery row; BullMQ's attempts are kept for infrastructure failures.
        await job.moveToDelayed(Date.now() + Math.ceil(decision.delayMs), token);
        throw new DelayedError();
      }
      return decision.reason;
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency, lockDuration: deps.lockDurationMs, stalledInterval: deps.lockDurationMs, autorun: true },
  );
  worker.on('failed', (job, err) => callbackDeps.logger.error({ err, deliveryId: job?.data.deliveryId, attemptsMade: job?.attemptsMade }, 'callback job failed'));
  worker.on('error', (err) => callbackDeps.logger.error({ err }, 'callback worker error'));
  return worker;
}
