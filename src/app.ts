import sensible from '@fastify/sensible';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CallbackRepository } from './callbacks/repository.js';
import { CallbackService } from './callbacks/service.js';
import type { Config } from './config.js';
import { EditRepository } from './edits/repository.js';
import { EditService } from './edits/service.js';
import type { Db } from './infra/prisma.js';
import { withTimeout } from './infra/timeout.js';
import { enqueueCallbackInBackground, ensureCallbackJob, enqueueSubmit, type EditQueues } from './jobs/queues.js';
import { requireBearerToken } from './plugins/bearerAuth.js';
import { connectionLimits } from './plugins/connectionLimits.js';
import { answerClientError, installErrorHandler } from './plugins/errorHandler.js';
import { echoRequestId, requestIdOf } from './plugins/requestId.js';
import { callbackRoutes } from './routes/callbacks.js';
import { editRoutes } from './routes/edits.js';
import { healthRoutes } from './routes/health.js';
import { pixelbyteWebhookRoutes } from './routes/pixelbyteWebhook.js';
import type { PixelByteClient } from './upstream/client.js';
import { webhookUrlKey } from './upstream/webhookUrl.js';

const ENQUEUE_TIMEOUT_MS = 1_000;

export interface AppDeps {
  config: Pick<
    Config,
    'API_KEYS' | 'PIXELBYTE_WEBHOOK_SECRET' | 'WEBHOOK_URL_SECRET' | 'BODY_LIMIT_BYTES' | 'IDEMPOTENCY_TTL_HOURS' | 'CALLBACK_SIGNING_SECRET' | 'ALLOW_HTTP_CALLBACKS' | 'CALLBACK_ALLOW_PRIVATE'
    | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS' | 'HTTP_MAX_CONNECTIONS' | 'UPSTREAM_TIMEOUT_MS'
  >;
  db: Db;
  /** The API's fail-fast connection (see infra/redis.ts). */
  redis: Redis;
  queues: EditQueues;
  pixelbyte: PixelByteClient;
  logger: Logger;
}

/** The HTTP API as a Fastify instance: no env, no listening, no signals. Whoever builds it owns the deps. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIdOf,
    return503OnClosing: true,
    ...connectionLimits(deps.config),
    clientErrorHandler: answerClientError,
  });
  app.server.maxConnections = deps.config.HTTP_MAX_CONNECTIONS;
  echoRequestId(app);
  await app.register(sensible);
  installErrorHandler(app);

  const edits = new EditRepository(deps.db, { callbackCreated: enqueueCallbackInBackground(deps.queues.callback, deps.logger, ENQUEUE_TIMEOUT_MS) });
  const deliveries = new CallbackRepository(deps.db);
  const callbacks = new CallbackService({
    deliveries,
    edits,
    enabled: deps.config.CALLBACK_SIGNING_SECRET !== undefined,
    policy: { allowHttp: deps.config.ALLOW_HTTP_CALLBACKS, allowPrivate: deps.config.CALLBACK_ALLOW_PRIVATE },
    requeue: (id) => withTimeout(ensureCallbackJob(deps.queues.callback, id), ENQUEUE_TIMEOUT_MS, 'enqueue'),
    logger: deps.logger,
  });
  const service = new EditService({
    edits,
    // BullMQ waits for Redis to come back before adding; an accepted edit must not wait with it.
    enqueueSubmit: (id) => withTimeout(enqueueSubmit(deps.queues.submit, id), ENQUEUE_TIMEOUT_MS, 'enqueue'),
    dequeueSubmit: async (id) => void (await deps.queues.submit.remove(id)),
    pixelbyte: deps.pixelbyte,
    idempotencyTtlHours: deps.config.IDEMPOTENCY_TTL_HOURS,
    logger: deps.logger,
    callbacks: deliveries,
    vetCallbackUrl: (url) => callbacks.vetUrl(url),
  });

  healthRoutes(app, [
    { name: 'postgres', check: () => deps.db.$queryRaw`SELECT 1` },
    { name: 'redis', check: () => deps.redis.ping() },
  ]);

  await app.register(async (v1) => {
    // The API speaks JSON only: a text body is a client mistake to name (415), not a string to validate.
    v1.removeContentTypeParser('text/plain');
    requireBearerToken(v1, deps.config.API_KEYS);
    editRoutes(v1, service);
    callbackRoutes(v1, callbacks, service);
  });

  await app.register(pixelbyteWebhookRoutes, {
    secret: deps.config.PIXELBYTE_WEBHOOK_SECRET,
    urlKey: webhookUrlKey(deps.config),
    intake: { edits, pixelbyte: deps.pixelbyte, logger: deps.logger },
  });

  return app;
}
