import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { CallbackRepository } from './callbacks/repository.js';
import { EditRepository } from './edits/repository.js';
import { createPrisma } from './infra/prisma.js';
import { createRedis } from './infra/redis.js';
import { createQueues, enqueueCallbackInBackground } from './jobs/queues.js';
import { startWorkers, type RunningWorkers } from './jobs/workers.js';
import { PixelByteClient } from './upstream/client.js';
import { webhookUrlKey } from './upstream/webhookUrl.js';

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
  const db = createPrisma(config.DATABASE_URL);
  const pixelbyte = new PixelByteClient({ baseUrl: config.PIXELBYTE_API_URL, apiKey: config.PIXELBYTE_API_KEY, timeoutMs: config.UPSTREAM_TIMEOUT_MS });
  const closers: (() => Promise<unknown>)[] = [];
  const running: RunningRelay = { stop: async () => {} };

  if (config.ROLE !== 'api') {
    const redis = createRedis(config.REDIS_URL, 'worker');
    redis.on('error', (err) => logger.warn({ err: err.message }, 'worker redis error'));
    const queues = createQueues(redis, config.QUEUE_PREFIX);
    running.workers = startWorkers({
      connection: redis,
      prefix: config.QUEUE_PREFIX,
      queues,
      edits: new EditRepository(db, { callbackCreated: enqueueCallbackInBackground(queues.callback, logger) }),
      logger,
      concurrency: config.WORKER_CONCURRENCY,
      lockDurationMs: config.WORKER_LOCK_DURATION_MS,
      sweepIntervalMs: config.SWEEP_INTERVAL_MS,
      maxSubmitsPerMinute: config.UPSTREAM_MAX_PER_MINUTE,
      reconcile: { pixelbyte, maxIntervalMs: config.RECONCILE_MAX_INTERVAL_MS },
      callbacks: config.CALLBACK_SIGNING_SECRET
        ? {
            deliveries: new CallbackRepository(db),
            signingSecret: config.CALLBACK_SIGNING_SECRET,
            timeoutMs: config.CALLBACK_TIMEOUT_MS,
            retryScale: config.CALLBACK_RETRY_SCALE,
            policy: { allowHttp: config.ALLOW_HTTP_CALLBACKS, allowPrivate: config.CALLBACK_ALLOW_PRIVATE },
          }
        : undefined,
      submit: {
        pixelbyte,
        publicBaseUrl: config.PUBLIC_BASE_URL,
        webhookUrlKey: webhookUrlKey(config),
        maxAttempts: config.SUBMIT_MAX_ATTEMPTS,
        backoffBaseMs: config.SUBMIT_BACKOFF_BASE_MS,
        backoffMaxMs: config.SUBMIT_BACKOFF_MAX_MS,
        fenceGraceMs: config.SUBMIT_FENCE_GRACE_MS,
        keyExclusive: config.PIXELBYTE_KEY_EXCLUSIVE,
        maxInFlight: config.UPSTREAM_MAX_CONCURRENCY,
        reconcileGraceMs: config.RECONCILE_GRACE_MS,
      },
    });
    const workers = running.workers;
    closers.push(() => workers.close(), () => queues.close(), () => redis.quit());
  }

  if (config.ROLE !== 'worker') {
    const redis = createRedis(config.REDIS_URL, 'producer');
    redis.on('error', (err) => logger.warn({ err: err.message }, 'api redis error'));
    const queues = createQueues(redis, config.QUEUE_PREFIX);
    const app = await buildApp({ config, db, redis, queues, pixelbyte, logger });
    running.app = app;
    running.url = await app.listen({ host: config.HOST, port: config.PORT });
    // HTTP stops first so nothing new arrives while the workers drain.
    closers.unshift(() => app.close());
    closers.push(() => queues.close(), () => redis.quit());
  }
  closers.push(() => db.$disconnect());

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
