import { type ConnectionOptions, type DefaultJobOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { groupCommit } from '../infra/groupCommit.js';
import { withTimeout } from '../infra/timeout.js';

export const QUEUE_NAMES = {
  /** One job per edit (jobId = edit id): send it to PixelByte exactly once. */
  submit: 'edit-submit',
  /** One job per callback delivery (jobId = delivery id = webhook-id): tell the client an edit finished. */
  callback: 'callback-deliver',
  /** One job per edit in `storing` (jobId = edit id): copy its outputs into the storage bucket. */
  mirror: 'edit-mirror',
} as const;

export const submitJobPayload = z.object({ editId: z.uuid() });
export type SubmitJobPayload = z.infer<typeof submitJobPayload>;

export const callbackJobPayload = z.object({ deliveryId: z.string().startsWith('msg_') });
export type CallbackJobPayload = z.infer<typeof callbackJobPayload>;

export const mirrorJobPayload = z.object({ editId: z.uuid() });
export type MirrorJobPayload = z.infer<typeof mirrorJobPayload>;

// The edit row, not BullMQ, is the source of truth; these attempts only cover our own infrastructure
// failing mid-job (Postgres down, a crash). Upstream retries are counted in the database.
const defaultJobOptions: DefaultJobOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

export interface EditQueues {
  submit: Queue<SubmitJobPayload>;
  callback: Queue<CallbackJobPayload>;
  mirror: Queue<MirrorJobPayload>;
  close(): Promise<void>;
}

const READY_WAIT_ON_CLOSE_MS = 1_000;

export function createQueues(connection: ConnectionOptions, prefix: string): EditQueues {
  const submit = new Queue<SubmitJobPayload>(QUEUE_NAMES.submit, { connection, prefix, defaultJobOptions });
  // A Queue whose Redis is down emits 'error'; unhandled, that would crash the process.
  submit.on('error', () => {});
  const callback = new Queue<CallbackJobPayload>(QUEUE_NAMES.callback, { connection, prefix, defaultJobOptions });
  callback.on('error', () => {});
  const mirror = new Queue<MirrorJobPayload>(QUEUE_NAMES.mirror, { connection, prefix, defaultJobOptions });
  mirror.on('error', () => {});
  const all = [submit, callback, mirror];
  return {
    submit,
    callback,
    mirror,
    close: async () => {
      // A queue closed while BullMQ still checks its new connection (a stop right after a start) leaves that
      // check to fail later, unhandled: let it finish first, but never wait long for a Redis that is down.
      const settled = Promise.allSettled(all.map((queue) => queue.waitUntilReady()));
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, READY_WAIT_ON_CLOSE_MS).unref())]);
      await Promise.all(all.map((queue) => queue.close()));
    },
  };
}

/** Adding is idempotent: BullMQ ignores a jobId it already holds, so the API and the sweeper may both call it. */
export async function enqueueSubmit(queue: Queue<SubmitJobPayload>, editId: string): Promise<void> {
  await queue.add('submit', { editId }, { jobId: editId });
}

/** Most jobs one addBulk holds; more added in one turn go in the next. */
const MAX_BATCH = 100;

/**
 * Adds jobs the way a busy process asks for them: those asked for in the same turn of the event loop (say, the
 * edits whose INSERTs were answered in the same poll of the sockets) go to Redis together, as one pipeline (BullMQ's
 * addBulk), instead of one round trip each; a lone job waits for nothing (infra/groupCommit.ts). A failed batch fails
 * each of its jobs' adds. Adding is idempotent (the job id is the row's id), so a retried or swept add never makes a
 * second job.
 */
function batchedEnqueuer<T>(
  addBulk: (jobs: { name: string; data: T; opts: { jobId: string } }[]) => Promise<unknown>,
  name: string,
  jobIdOf: (data: T) => string,
): (data: T) => Promise<void> {
  return groupCommit(
    async (batch: T[]) => {
      await addBulk(batch.map((data) => ({ name, data, opts: { jobId: jobIdOf(data) } })));
      return batch.map(() => undefined);
    },
    // Redis pipelines need no connection of their own: every batch leaves at once.
    { maxInFlight: Number.POSITIVE_INFINITY, maxGroup: MAX_BATCH },
  );
}

/** `enqueueSubmit` for a busy API: the edits accepted in one turn go to Redis as one addBulk. */
export function batchedSubmitEnqueuer(queue: Queue<SubmitJobPayload>): (editId: string) => Promise<void> {
  const add = batchedEnqueuer<SubmitJobPayload>(
    (jobs) => queue.addBulk(jobs),
    'submit',
    (data) => data.editId,
  );
  return (editId) => add({ editId });
}

async function enqueueCallback(queue: Queue<CallbackJobPayload>, deliveryId: string): Promise<void> {
  await queue.add('deliver', { deliveryId }, { jobId: deliveryId });
}

/**
 * Relays callback outbox rows (see edits/transitions.ts) without making the status change wait: BullMQ would
 * wait for Redis to come back. A failure only delays the callback: the callback sweeper finds the pending row.
 */
export function enqueueCallbacksInBackground(queue: Queue<CallbackJobPayload>, logger: Logger, timeoutMs: number): (deliveryIds: string[]) => void {
  // Edits finishing together (a burst of webhooks) relay their callbacks to Redis together.
  const add = batchedEnqueuer<CallbackJobPayload>(
    (jobs) => queue.addBulk(jobs),
    'deliver',
    (data) => data.deliveryId,
  );
  return (deliveryIds) => {
    for (const deliveryId of deliveryIds) {
      withTimeout(add({ deliveryId }), timeoutMs, 'enqueue').catch((err: unknown) =>
        logger.warn({ err, deliveryId }, 'could not enqueue a callback; the callback sweeper will'),
      );
    }
  };
}

const LIVE_JOB_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * Makes sure the job `jobId` is live (waiting, delayed or running). A job BullMQ already finished
 * (completed, or failed on our own infrastructure) still holds the jobId, so it is removed and `add`
 * runs anew. Returns the state it found when it (re)added the job, or null when a live job was there.
 */
async function ensureLiveJob(queue: Queue, jobId: string, add: () => Promise<void>): Promise<string | null> {
  const job = await queue.getJob(jobId);
  const state = job ? await job.getState() : 'missing';
  if (LIVE_JOB_STATES.has(state)) return null;
  if (job) await job.remove().catch(() => {});
  await add();
  return state;
}

async function enqueueMirror(queue: Queue<MirrorJobPayload>, editId: string): Promise<void> {
  await queue.add('mirror', { editId }, { jobId: editId });
}

/**
 * Relays mirror outbox rows (an edit moved to `storing`) without making the status change wait, as the callbacks'
 * relay does; a failure only delays the mirror: the mirror sweeper finds the unfinished task.
 */
export function enqueueMirrorsInBackground(queue: Queue<MirrorJobPayload>, logger: Logger, timeoutMs: number): (editIds: string[]) => void {
  const add = batchedEnqueuer<MirrorJobPayload>(
    (jobs) => queue.addBulk(jobs),
    'mirror',
    (data) => data.editId,
  );
  return (editIds) => {
    for (const editId of editIds) {
      withTimeout(add({ editId }), timeoutMs, 'enqueue').catch((err: unknown) =>
        logger.warn({ err, editId }, 'could not enqueue a mirror job; the mirror sweeper will'),
      );
    }
  };
}

/** An unfinished mirror task must have a live job: the mirror sweeper's repair. True when it had to add one. */
export async function ensureMirrorJob(queue: Queue<MirrorJobPayload>, editId: string): Promise<boolean> {
  return (await ensureLiveJob(queue, editId, () => enqueueMirror(queue, editId))) !== null;
}

/** An edit awaiting its submit must have a live job: the sweeper's repair. Returns what ensureLiveJob does. */
export function ensureSubmitJob(queue: Queue<SubmitJobPayload>, editId: string): Promise<string | null> {
  return ensureLiveJob(queue, editId, () => enqueueSubmit(queue, editId));
}

/** A pending callback delivery must have a live job: the sweeper and redeliver both use this. */
export async function ensureCallbackJob(queue: Queue<CallbackJobPayload>, deliveryId: string): Promise<boolean> {
  return (await ensureLiveJob(queue, deliveryId, () => enqueueCallback(queue, deliveryId))) !== null;
}
