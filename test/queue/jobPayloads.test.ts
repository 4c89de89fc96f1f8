import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import type { EditQueues } from '../../src/queue/queues.js';
import { eventually, queuesOf, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// A job's payload is checked against its queue's schema: one that fails would fail the same way on every
// retry, so it fails at once instead of taking the queue's 12 attempts.
let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;
let queues: EditQueues;

beforeAll(async () => {
  ({ sim, t, stop } = await startRelayWithSimulator({ ROLE: 'worker' }));
  queues = queuesOf(t);
});
afterAll(async () => {
  await queues?.close();
  await stop?.();
});

async function failedAfter(queue: Queue, jobId: string) {
  return eventually(
    async () => {
      // State first, then the job: a job read while still active would show its attempt not yet counted.
      if ((await queue.getJobState(jobId)) !== 'failed') return undefined;
      return queue.getJob(jobId);
    },
    10_000,
    `job ${jobId} to fail`,
  );
}

describe('a job whose payload fails its schema', () => {
  it('fails after one attempt on the submit queue', async () => {
    await (queues.submit as Queue).add('submit', { editId: 'not-a-uuid' }, { jobId: 'bad-submit-payload' });
    const job = await failedAfter(queues.submit, 'bad-submit-payload');
    expect(job.opts.attempts).toBe(12);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/invalid payload/);
    expect(sim.calls).toHaveLength(0);
  });

  it('fails after one attempt on the callback queue', async () => {
    await (queues.callback as Queue).add('deliver', { deliveryId: 42 }, { jobId: 'bad-callback-payload' });
    const job = await failedAfter(queues.callback, 'bad-callback-payload');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/invalid payload/);
  });
});
