import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/infra/redis.js';
import { batchedSubmitEnqueuer, createQueues, type EditQueues, enqueueCallbacksInBackground } from '../../src/queue/queues.js';
import { eventually } from '../helpers/relay.js';
import { testQueuePrefix, testRedisUrl } from '../helpers/services.js';

// Jobs asked for in one turn of the event loop go to Redis as one pipeline (BullMQ's addBulk): the API's submit jobs
// for the edits it accepted, and the callback jobs of edits that finished together.
let redis: Redis;
let queues: EditQueues;
/** The size of each addBulk the enqueuers made: observed on the real queues, which still do the work. */
const bulks: number[] = [];
const callbackBulks: number[] = [];

const ready = (connection: Redis) => (connection.status === 'ready' ? Promise.resolve() : new Promise((resolve) => connection.once('ready', resolve)));

beforeAll(async () => {
  redis = createRedis(testRedisUrl(), 'producer');
  await ready(redis);
  queues = createQueues(redis, testQueuePrefix());
  const addBulk = queues.submit.addBulk.bind(queues.submit);
  queues.submit.addBulk = (jobs) => {
    bulks.push(jobs.length);
    return addBulk(jobs);
  };
  const addCallbacks = queues.callback.addBulk.bind(queues.callback);
  queues.callback.addBulk = (jobs) => {
    callbackBulks.push(jobs.length);
    return addCallbacks(jobs);
  };
});
afterAll(async () => {
  await queues?.submit.obliterate({ force: true }).catch(() => {});
  await queues?.callback.obliterate({ force: true }).catch(() => {});
  await queues?.close();
  await redis?.quit();
});

describe('submit jobs enqueued by the API', () => {
  it('go to Redis together when accepted in the same turn, alone otherwise, each as its own job', async () => {
    const enqueue = batchedSubmitEnqueuer(queues.submit);
    const together = Array.from({ length: 5 }, () => randomUUID());
    await Promise.all(together.map(enqueue));
    const alone = randomUUID();
    await enqueue(alone);
    expect(bulks).toEqual([5, 1]);
    for (const id of [...together, alone]) expect(await queues.submit.getJobState(id)).toBe('waiting');
    // Enqueuing an edit again is harmless: BullMQ keeps the job it holds under that id.
    await Promise.all([enqueue(alone), enqueue(together[0]!)]);
    expect(await queues.submit.getWaitingCount()).toBe(6);
  });

  it('fail each edit of a batch Redis did not take, so that every caller knows (the sweeper enqueues them later)', async () => {
    // The API's connection fails fast (infra/redis.ts): with it gone, a command fails at once instead of waiting.
    const lost = createRedis(testRedisUrl(), 'producer');
    lost.on('error', () => {});
    await ready(lost);
    const orphaned = createQueues(lost, testQueuePrefix());
    try {
      await orphaned.submit.waitUntilReady();
      lost.disconnect();
      const enqueue = batchedSubmitEnqueuer(orphaned.submit);
      const results = await Promise.allSettled([enqueue(randomUUID()), enqueue(randomUUID())]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    } finally {
      await orphaned.close().catch(() => {});
    }
  });
});

describe('callback jobs relayed after edits finish', () => {
  it('go to Redis together when the edits finished in the same turn', async () => {
    const logger = { warn: () => {} } as unknown as Parameters<typeof enqueueCallbacksInBackground>[1];
    const relay = enqueueCallbacksInBackground(queues.callback, logger, 1_000);
    const ids = Array.from({ length: 4 }, () => `msg_${randomUUID()}`);
    relay(ids.slice(0, 1));
    relay(ids.slice(1));
    await eventually(async () => ((await queues.callback.getWaitingCount()) === 4 ? true : undefined), 5_000, 'four callback jobs');
    expect(callbackBulks).toEqual([4]);
    for (const id of ids) expect(await queues.callback.getJobState(id)).toBe('waiting');
  });
});
