import type { Queue } from 'bullmq';
import type { Registry } from 'prom-client';
import { registerScrapedMetric } from './scrapedMetric.js';
import type { SourceReader } from './source.js';

/** The BullMQ states worth watching: work not yet started, running, waiting its retry time, and failed on our own infrastructure. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'paused', 'active', 'delayed', 'failed'] as const;

export interface QueueStats {
  queue: string;
  counts: Record<(typeof QUEUE_STATES)[number], number>;
  /** Seconds the oldest waiting job has waited, or 0 when none waits. */
  oldestWaitingSeconds: number;
}

/**
 * Counts per state and the oldest waiting job, per queue: a few Redis commands each, whatever the queue holds.
 * A job that ran before (a retry) is timed from its last start, since BullMQ keeps no time of its return to the
 * waiting list: an upper bound, never an understatement.
 */
export async function readQueueStats(queues: Queue[], now: () => number = Date.now): Promise<QueueStats[]> {
  return Promise.all(
    queues.map(async (queue) => {
      const [counts, oldest] = await Promise.all([queue.getJobCounts(...QUEUE_STATES), queue.getJobs(['wait'], 0, 0, true)]);
      const job = oldest[0];
      const since = job ? Math.max(job.timestamp, job.processedOn ?? 0) : undefined;
      return {
        queue: queue.name,
        counts: Object.fromEntries(QUEUE_STATES.map((state) => [state, counts[state] ?? 0])) as QueueStats['counts'],
        oldestWaitingSeconds: since === undefined ? 0 : Math.max(0, (now() - since) / 1000),
      };
    }),
  );
}

export function registerQueueMetrics(registry: Registry, read: SourceReader<QueueStats[]>): void {
  registerScrapedMetric(registry, {
    name: 'pixelrelay_queue_jobs',
    help: `Jobs in each BullMQ queue by state (${QUEUE_STATES.join(', ')}); active is jobs being worked on now. From Redis.`,
    type: 'gauge',
    samples: async () =>
      ((await read()).value ?? []).flatMap((q) => QUEUE_STATES.map((state) => ({ labels: { queue: q.queue, state }, value: q.counts[state] }))),
  });
  registerScrapedMetric(registry, {
    name: 'pixelrelay_queue_oldest_waiting_seconds',
    help: 'How long the oldest job waiting in the queue has waited (since it was added, or since its last run for a retry); 0 when none waits. From Redis.',
    type: 'gauge',
    samples: async () => ((await read()).value ?? []).map((q) => ({ labels: { queue: q.queue }, value: q.oldestWaitingSeconds })),
  });
}
