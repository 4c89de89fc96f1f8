import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import { z } from 'zod';

export const QUEUE_NAMES = {
  /** One job per edit (jobId = edit id): send it to PixelByte exactly once. */
  submit: 'edit-submit',
} as const;

export const submitJobPayload = z.object({ editId: z.uuid() });
export type SubmitJobPayload = z.infer<typeof submitJobPayload>;

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
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string): EditQueues {
  const submit = new Queue<SubmitJobPayload>(QUEUE_NAMES.submit, { connection, prefix, defaultJobOptions });
  // A Queue whose Redis is down emits 'error'; unhandled, that would crash the process.
  submit.on('error', () => {});
  return {
    submit,
    close: async () => {
      await submit.close();
    },
  };
}

/** Adding is idempotent: BullMQ ignores a jobId it already holds, so the API and the sweeper may both call it. */
export async function enqueueSubmit(queue: Queue<SubmitJobPayload>, editId: string): Promise<void> {
  await queue.add('submit', { editId }, { jobId: editId });
}
