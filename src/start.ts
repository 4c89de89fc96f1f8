import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { buildApp } from './api/app.js';
import { bucketSettingsOf, createServices } from './compose.js';
import type { Config } from './config.js';
import { createMetricsDatabase } from './infra/metricsDatabase.js';
import { createPrisma } from './infra/prisma.js';
import { createRedis } from './infra/redis.js';
import { createQueues, type EditQueues } from './queue/queues.js';
import { type RunningWorkers, startWorkers } from './queue/workers.js';
import { Bucket } from './storage/bucket.js';
import { PixelByteClient } from './upstream/client.js';

export interface RunningRelay {
  /** The API's address when this process serves HTTP. */
  url?: string;
  app?: FastifyInstance;
  workers?: RunningWorkers;
  /** Ordered shutdown: stop taking requests and jobs, let in-flight ones finish, then close connections. */
  stop(): Promise<void>;
}

/** Connects and starts what ROLE asks for: the HTTP API, the workers, or both. */
export async function startPixelRelay(config: Config, logger: Logger): Promise<RunningRelay> {
  const db = createPrisma(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS });
  const worker = config.ROLE !== 'api' ? connectRole(config, logger, 'worker') : undefined;
  const api =
    config.ROLE !== 'worker'
      ? {
          ...connectApi(config, logger),
          metricsDb: createMetricsDatabase(config.DATABASE_URL, { statementTimeoutMs: config.METRICS_STATEMENT_TIMEOUT_MS }),
        }
      : undefined;
  // Infrastructure like the database pool: made here so that the shutdown below closes its connections.
  const pixelbyte = new PixelByteClient({ baseUrl: config.PIXELBYTE_API_URL, apiKey: config.PIXELBYTE_API_KEY, timeoutMs: config.UPSTREAM_TIMEOUT_MS });
  const bucketSettings = bucketSettingsOf(config);
  const bucket = bucketSettings && new Bucket(bucketSettings);
  const services = createServices(config, {
    db,
    logger,
    pixelbyte,
    queues: { api: api?.queues, worker: worker?.queues },
    metricsDb: api?.metricsDb,
    workerRedis: worker?.redis,
    wakeupPublisher: worker?.redis ?? api?.redis,
    wakeupSubscriber: api?.subscriber,
    bucket,
  });

  const closers: (() => Promise<unknown>)[] = [];
  const running: RunningRelay = { stop: async () => {} };

  if (worker && services.worker) {
    const workers = startWorkers(
      {
        connection: worker.redis,
        prefix: config.QUEUE_PREFIX,
        concurrency: config.WORKER_CONCURRENCY,
        lockDurationMs: config.WORKER_LOCK_DURATION_MS,
        sweepIntervalMs: config.SWEEP_INTERVAL_MS,
        maxSubmitsPerMinute: config.UPSTREAM_MAX_PER_MINUTE,
        mirrorConcurrency: config.MIRROR_CONCURRENCY,
      },
      services.worker,
    );
    running.workers = workers;
    closers.push(
      () => workers.close(),
      () => worker.queues.close(),
      () => worker.redis.quit(),
    );
  }

  if (api && services.api) {
    const app = buildApp({ config, services: services.api, db, redis: api.redis, logger });
    running.app = app;
    running.url = await app.listen({ host: config.HOST, port: config.PORT });
    // HTTP stops first so nothing new arrives while the workers drain.
    closers.unshift(() => app.close());
    closers.push(
      () => api.queues.close(),
      // After HTTP: the waits and streams it ended no longer listen.
      () => api.subscriber.quit(),
      () => api.redis.quit(),
      // Waits for a metrics read still running, which its statement timeout ends.
      () => api.metricsDb.close(),
    );
  }
  closers.push(
    () => services.close(),
    async () => bucket?.close(),
    () => pixelbyte.close(),
    () => db.$disconnect(),
  );

  running.stop = async () => {
    for (const close of closers) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err }, 'error while shutting down');
      }
    }
  };
  return running;
}

/**
 * The API's connection and queues, and its one subscriber connection: a duplicate that, unlike the API's, queues
 * its SUBSCRIBE until Redis answers and subscribes again after every reconnect (ioredis does), so the wake-ups
 * come back by themselves after an outage; the waiters re-read Postgres meanwhile.
 */
function connectApi(config: Config, logger: Logger): { redis: Redis; queues: EditQueues; subscriber: Redis } {
  const role = connectRole(config, logger, 'producer');
  const subscriber = role.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on('error', (err) => logger.warn({ err: err.message }, 'api wake-up subscriber redis error'));
  return { ...role, subscriber };
}

/** One role's Redis connection (the API's fails fast, the workers' waits) and the queues on it. */
function connectRole(config: Config, logger: Logger, role: 'producer' | 'worker'): { redis: Redis; queues: EditQueues } {
  const redis = createRedis(config.REDIS_URL, role);
  redis.on('error', (err) => logger.warn({ err: err.message }, `${role === 'worker' ? 'worker' : 'api'} redis error`));
  return { redis, queues: createQueues(redis, config.QUEUE_PREFIX) };
}
