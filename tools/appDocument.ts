import type { RouteOptions } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { createServices } from '../src/compose.js';
import type { Config } from '../src/config.js';
import { createMetricsDatabase } from '../src/infra/metricsDatabase.js';
import { createPrisma } from '../src/infra/prisma.js';
import { createRedis } from '../src/infra/redis.js';
import { createQueues } from '../src/queue/queues.js';
import { PixelByteClient } from '../src/upstream/client.js';

/**
 * Every route the app registers (HEAD twins left out), as Fastify was given it, for an app built from `config`
 * and never listening; with the OpenAPI document that app serves, taken on the same ready().
 */
export async function appRoutesAndDocument(config: Config): Promise<{ routes: RouteOptions[]; document: unknown }> {
  const db = createPrisma(config.DATABASE_URL, { max: 1 });
  const redis = createRedis(config.REDIS_URL, 'producer');
  const queues = createQueues(redis, config.QUEUE_PREFIX);
  const logger = pino({ level: 'silent' });
  const pixelbyte = new PixelByteClient({ baseUrl: config.PIXELBYTE_API_URL, apiKey: config.PIXELBYTE_API_KEY, timeoutMs: 1_000 });
  const metricsDb = createMetricsDatabase(config.DATABASE_URL, { statementTimeoutMs: config.METRICS_STATEMENT_TIMEOUT_MS });
  const services = createServices(config, { db, pixelbyte, logger, queues: { api: queues }, metricsDb });
  const app = buildApp({ config, services: services.api!, db, redis, logger });
  // buildApp only registers its plugins; they load on ready(), so this hook sees every route they add.
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  try {
    await app.ready();
    return { routes: routes.filter((r) => r.method !== 'HEAD'), document: app.swagger() };
  } finally {
    await app.close();
    // Closed mid-handshake, BullMQ's version check of Redis would fail later, unhandled: let it finish first.
    await Promise.all([queues.submit.waitUntilReady(), queues.callback.waitUntilReady()]);
    await queues.close();
    redis.disconnect();
    await db.$disconnect();
    await metricsDb.close();
  }
}
