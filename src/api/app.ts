import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../infra/prisma.js';
import { WEBHOOK_PATH_PREFIX, webhookUrlKey } from '../upstream/webhookUrl.js';
import { consoleRoutes } from './console/consolePlugin.js';
import { bearerAuth } from './plugins/bearerAuth.js';
import { connectionLimits, connectionTimeouts } from './plugins/connectionLimits.js';
import { answerClientError, errorHandler } from './plugins/errorHandler.js';
import { answerFrameworkError } from './plugins/frameworkErrors.js';
import { jsonBody } from './plugins/jsonBody.js';
import { metricsPlugin } from './plugins/metrics.js';
import { openapi } from './plugins/openapi.js';
import { queueDashboard } from './plugins/queueDashboard.js';
import { authFailureLimit, clientRateLimit } from './plugins/rateLimit.js';
import { requestId, requestIdOf } from './plugins/requestId.js';
import { adminRoutes } from './routes/admin/clients.js';
import { adminEditRoutes } from './routes/admin/edits.js';
import { apiIndexRoutes } from './routes/apiIndex.js';
import { healthRoutes } from './routes/health.js';
import { callbackRoutes } from './routes/v1/callbacks.js';
import { editEventRoutes } from './routes/v1/editEvents.js';
import { editRoutes } from './routes/v1/edits.js';
import { clientEventRoutes } from './routes/v1/events.js';
import { modelRoutes } from './routes/v1/models.js';
import { uploadRoutes } from './routes/v1/uploads.js';
import { usageRoutes } from './routes/v1/usage.js';
import { pixelbyteWebhookRoutes } from './routes/webhooks/pixelbyte.js';
import type { ApiServices } from './services.js';

export interface AppDeps {
  config: Pick<
    Config,
    | 'API_KEYS'
    | 'ADMIN_TOKEN'
    | 'QUEUE_PREFIX'
    | 'PIXELBYTE_WEBHOOK_SECRET'
    | 'WEBHOOK_URL_SECRET'
    | 'BODY_LIMIT_BYTES'
    | 'EDIT_BODY_LIMIT_BYTES'
    | 'HTTP_REQUEST_TIMEOUT_MS'
    | 'HTTP_KEEP_ALIVE_TIMEOUT_MS'
    | 'HTTP_MAX_CONNECTIONS'
    | 'UPSTREAM_TIMEOUT_MS'
    | 'METRICS_TOKEN'
    | 'AUTH_FAILURE_LIMIT'
    | 'AUTH_FAILURE_WINDOW_MS'
    | 'TRUST_PROXY'
    | 'UPLOAD_MAX_BYTES'
    | 'MAX_PREFER_WAIT_SECONDS'
    | 'EVENTS_PING_MS'
    | 'EVENTS_BUFFER_LIMIT_BYTES'
  >;
  /** Built by createServices (compose.ts): the app constructs none of its own. */
  services: ApiServices;
  /** Postgres and the API's fail-fast Redis connection (see infra/redis.ts), for the readiness probe. */
  db: Db;
  redis: Redis;
  logger: Logger;
  /** The built console; its default is dist/console (see console/consolePlugin.ts). */
  consoleDir?: string;
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
    // Who sent a request (request.ip: the failed-authentication limit, the logs) is read through these proxies only.
    trustProxy: deps.config.TRUST_PROXY ?? false,
    ...connectionTimeouts(deps.config),
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  }).withTypeProvider<ZodTypeProvider>();
  // Each route's zod schemas validate its input and serialize its answers: fields a schema does not name are not sent.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.register(requestId);
  app.register(errorHandler);
  app.register(jsonBody);
  app.register(connectionLimits, { maxConnections: deps.config.HTTP_MAX_CONNECTIONS });
  // Both before any route: the document collects routes as they are added, the metrics hooks time every one.
  app.register(openapi);
  app.register(metricsPlugin, { metrics: deps.services.metrics, token: deps.config.METRICS_TOKEN });

  const { edits: service, callbacks, webhookIntake } = deps.services;

  // Before the server stops taking requests: open waits answer with what they have and event streams end, so the
  // close does not wait on them and their clients go to another process (a stream with Last-Event-ID).
  app.addHook('preClose', (done) => {
    deps.services.watch.shutdown();
    done();
  });

  app.register(apiIndexRoutes);
  app.register(consoleRoutes, { dir: deps.consoleDir });

  app.register(healthRoutes, {
    probes: [
      { name: 'postgres', check: () => deps.db.$queryRaw`SELECT 1` },
      { name: 'redis', check: () => deps.redis.ping() },
    ],
  });

  // The client API: one encapsulated scope, so its bearer auth and JSON-only parsing stop at its edge.
  app.register(
    async (v1) => {
      // A text body is a client mistake to name (415), not a string to validate.
      v1.removeContentTypeParser('text/plain');
      const { AUTH_FAILURE_LIMIT: max, AUTH_FAILURE_WINDOW_MS: windowMs } = deps.config;
      v1.register(bearerAuth, {
        apiKeys: deps.config.API_KEYS,
        findCaller: (key) => deps.services.clients.findCaller(key),
        failures:
          max > 0
            ? authFailureLimit({ redis: deps.redis, nameSpace: `${deps.config.QUEUE_PREFIX}:auth-failures:`, logger: deps.logger, max, windowMs })
            : undefined,
      });
      v1.register(clientRateLimit, { redis: deps.redis, nameSpace: `${deps.config.QUEUE_PREFIX}:rate-limit:`, logger: deps.logger });
      v1.register(editRoutes, {
        service,
        watch: deps.services.watch,
        maxWaitSeconds: deps.config.MAX_PREFER_WAIT_SECONDS,
        bodyLimit: deps.config.EDIT_BODY_LIMIT_BYTES,
      });
      const streams = { service, watch: deps.services.watch, pingMs: deps.config.EVENTS_PING_MS, bufferLimitBytes: deps.config.EVENTS_BUFFER_LIMIT_BYTES };
      v1.register(editEventRoutes, streams);
      v1.register(clientEventRoutes, streams);
      v1.register(uploadRoutes, { service: deps.services.uploads, maxBytes: deps.config.UPLOAD_MAX_BYTES });
      v1.register(modelRoutes);
      v1.register(callbackRoutes, { callbacks, edits: service });
      v1.register(usageRoutes, { usageOf: deps.services.usageOf });
    },
    { prefix: '/v1' },
  );

  // Operators only, and only when ADMIN_TOKEN is set: without it these routes do not exist (404).
  const adminToken = deps.config.ADMIN_TOKEN;
  if (adminToken) {
    app.register(adminRoutes, { prefix: '/admin', adminToken, clients: deps.services.clients, queueOf: deps.services.queueOf });
    app.register(adminEditRoutes, { prefix: '/admin', adminToken, edits: service });
    app.register(queueDashboard, { adminToken, queues: [deps.services.queues.submit, deps.services.queues.callback] });
  }

  app.register(pixelbyteWebhookRoutes, {
    prefix: WEBHOOK_PATH_PREFIX,
    secret: deps.config.PIXELBYTE_WEBHOOK_SECRET,
    urlKey: webhookUrlKey(deps.config),
    intake: webhookIntake,
  });

  return app;
}
