import { type ConnectionOptions, DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CallbackDecision } from '../engine/callbacks/deliverCallback.js';
import type { MirrorDecision } from '../engine/mirror/mirrorEdit.js';
import type { WorkerEngine } from '../engine/workerEngine.js';
import { PeriodicTask } from './periodicTask.js';
import {
  type CallbackJobPayload,
  callbackJobPayload,
  type MirrorJobPayload,
  mirrorJobPayload,
  QUEUE_NAMES,
  type SubmitJobPayload,
  submitJobPayload,
} from './queues.js';

const UNLIMITED = Number.MAX_SAFE_INTEGER - 1;

export interface WorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  sweepIntervalMs: number;
  /** BullMQ's queue-wide limiter: shared by every worker process on this queue. */
  maxSubmitsPerMinute?: number;
  /** Mirror jobs (edits storing their outputs) one process runs at once. */
  mirrorConcurrency?: number;
}

export interface RunningWorkers {
  submitWorker: Worker<SubmitJobPayload>;
  callbackWorker?: Worker<CallbackJobPayload>;
  mirrorWorker?: Worker<MirrorJobPayload>;
  /** Stops taking jobs, lets the ones in flight finish, and stops the sweeper. */
  close(): Promise<void>;
}

export function startWorkers(options: WorkerOptions, engine: WorkerEngine): RunningWorkers {
  const { logger } = engine;
  const submitWorker: Worker<SubmitJobPayload> = new Worker<SubmitJobPayload>(
    QUEUE_NAMES.submit,
    async (job: Job<SubmitJobPayload>, token?: string) => {
      const { editId } = payloadOf(submitJobPayload, job);
      const decision = await engine.submit(editId);
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
      if (decision.kind === 'wait-for-slot') {
        // Not Worker.RateLimitError(), which keeps the job's place: it would be the next job taken, again and again,
        // and the jobs of the edits holding the slots (a submit whose outcome is unknown holds one until its fence
        // expires and it is sent again) would never come up to free them. At the back, every job gets its turn.
        await submitWorker.rateLimit(decision.delayMs);
        await job.moveToDelayed(Date.now() + decision.delayMs, token);
        throw new DelayedError();
      }
      return decision.reason;
    },
    {
      ...workerSettings(options),
      // BullMQ only honours rateLimit() (our 429 pause) when a limiter is configured, so there always is one.
      limiter: { max: options.maxSubmitsPerMinute ?? UNLIMITED, duration: 60_000 },
    },
  );
  submitWorker.on('failed', (job, err) => logger.error({ err, editId: job?.data.editId, attemptsMade: job?.attemptsMade }, 'submit job failed'));
  submitWorker.on('error', (err) => logger.error({ err }, 'submit worker error'));

  const callbackWorker = engine.deliver && startCallbackWorker(options, engine.deliver, logger);
  const mirrorWorker = engine.mirror && startMirrorWorker(options, engine.mirror, logger);
  const housekeeping = new PeriodicTask(
    options.sweepIntervalMs,
    logger,
    engine.maintenance.map((step) => [step.name, step.run]),
  );

  return {
    submitWorker,
    callbackWorker,
    mirrorWorker,
    close: async () => {
      await housekeeping.stop();
      await Promise.all([submitWorker.close(), callbackWorker?.close(), mirrorWorker?.close()]);
    },
  };
}

/**
 * Mirror jobs have a queue of their own, and few at a time (each streams images of megabytes): a slow CDN or bucket
 * never delays a submit or a callback.
 */
function startMirrorWorker(options: WorkerOptions, mirror: (editId: string) => Promise<MirrorDecision>, logger: Logger): Worker<MirrorJobPayload> {
  const worker: Worker<MirrorJobPayload> = new Worker<MirrorJobPayload>(
    QUEUE_NAMES.mirror,
    async (job: Job<MirrorJobPayload>, token?: string) => {
      const { editId } = payloadOf(mirrorJobPayload, job);
      const decision = await mirror(editId);
      if (decision.kind === 'retry') {
        // The schedule and its deadline live in the task row; BullMQ's attempts are kept for infrastructure failures.
        await job.moveToDelayed(Date.now() + Math.ceil(decision.delayMs), token);
        throw new DelayedError();
      }
      return decision.reason;
    },
    { ...workerSettings(options), concurrency: options.mirrorConcurrency ?? options.concurrency },
  );
  worker.on('failed', (job, err) => logger.error({ err, editId: job?.data.editId, attemptsMade: job?.attemptsMade }, 'mirror job failed'));
  worker.on('error', (err) => logger.error({ err }, 'mirror worker error'));
  return worker;
}

/** Callbacks have a queue of their own, so a slow client never delays a submit or a webhook. */
function startCallbackWorker(options: WorkerOptions, deliver: (deliveryId: string) => Promise<CallbackDecision>, logger: Logger): Worker<CallbackJobPayload> {
  const worker: Worker<CallbackJobPayload> = new Worker<CallbackJobPayload>(
    QUEUE_NAMES.callback,
    async (job: Job<CallbackJobPayload>, token?: string) => {
      const { deliveryId } = payloadOf(callbackJobPayload, job);
      const decision = await deliver(deliveryId);
      if (decision.kind === 'retry') {
        // The schedule lives in the delivery row; BullMQ's attempts are kept for infrastructure failures.
        await job.moveToDelayed(Date.now() + Math.ceil(decision.delayMs), token);
        throw new DelayedError();
      }
      return decision.reason;
    },
    workerSettings(options),
  );
  worker.on('failed', (job, err) => logger.error({ err, deliveryId: job?.data.deliveryId, attemptsMade: job?.attemptsMade }, 'callback job failed'));
  worker.on('error', (err) => logger.error({ err }, 'callback worker error'));
  return worker;
}

function workerSettings(options: WorkerOptions) {
  return {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    autorun: true,
  };
}

/** A payload that fails its schema fails alike on every retry: the job fails at once instead. */
function payloadOf<T>(schema: z.ZodType<T>, job: Job): T {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`job ${job.id} has an invalid payload: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
