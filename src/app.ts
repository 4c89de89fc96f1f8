import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Db } from './infra/prisma.js';
import { bearerAuth } from './plugins/bearerAuth.js';
import { connectionLimits, connectionTimeouts } from './plugins/connectionLimits.js';
import { answerClientError, errorHandler } from './plugins/errorHandler.js';
import { requestId, requestIdOf } from './plugins/requestId.js';
import { callbackRoutes } from './routes/callbacks.js';
import { editRoutes } from './routes/edits.js';
import { healthRoutes } from './routes/health.js';
import { pixelbyteWebhookRoutes } from './routes/pixelbyteWebhook.js';
import type { ApiServices } from './services.js';
import { webhookUrlKey } from './upstream/webhookUrl.js';

export interface AppDeps {
  config: Pick<
    Config,
    | 'API_KEYS'
    | 'PIXELBYTE_WEBHOOK_SECRET'
    | 'WEBHOOK_URL_SECRET'
    | 'BODY_LIMIT_BYTES'
    | 'HTTP_REQUEST_TIMEOUT_MS'
    | 'HTTP_KEEP_ALIVE_TIMEOUT_MS'
    | 'HTTP_MAX_CONNECTIONS'
    | 'UPSTREAM_TIMEOUT_MS'
  >;
  /** Built by createServices (services.ts): the app constructs none of its own. */
  services: ApiServices;
  /** Postgres and the API's fail-fast Redis connection (see infra/redis.ts), for the readiness probe. */
  db: Db;
  redis: Redis;
  logger: Logger;
}

/**
 * The HTTP API as a Fastify instance: no env, no listening, no signals. Whoever builds it owns the deps.
 * Plugins and routes load on `ready()` (or `listen()`), in the order registered here.
 */
export function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIdOf,
    return503OnClosing: true,
    ...connectionTimeouts(deps.config),
    clientErrorHandler: answerClientError,
  }).withTypeProvider<ZodTypeProvider>();
  // Each route's zod schemas validate its input and serialize its answers: fields a schema does not name are not sent.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.register(requestId);
  app.register(errorHandler);
  app.register(connectionLimits, { maxConnections: deps.config.HTTP_MAX_CONNECTIONS });

  const { edits: service, callbacks, webhookIntake } = deps.services;

  app.register(healthRoutes, {
    probes: [
      { name: 'postgres', check: () => deps.db.$queryRaw`SELECT 1` },
      { name: 'redis', check: () => deps.redis.ping() },
    ],
  });

  // The client API: one encapsulated scope, so its bearer auth and JSON-only parsing stop at its edge.
  app.register(async (v1) => {
    // A text body is a client mistake to name (415), not a string to validate.
    v1.removeContentTypeParser('text/plain');
    v1.register(bearerAuth, { apiKeys: deps.config.API_KEYS });
    v1.register(editRoutes, { service });
    v1.register(callbackRoutes, { callbacks, edits: service });
  });

  app.register(pixelbyteWebhookRoutes, {
    secret: deps.config.PIXELBYTE_WEBHOOK_SECRET,
    urlKey: webhookUrlKey(deps.config),
    intake: webhookIntake,
  });

  return app;
}
