import { createRequire } from 'node:module';
import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';

export interface ClientRateLimitOptions {
  /** The API's fail-fast connection (infra/redis.ts): every replica counts in the same keys. */
  redis: Redis;
  /** Keys live under it, so deployments sharing a Redis do not share counts (QUEUE_PREFIX). */
  nameSpace: string;
  logger: Logger;
  /** The longest a request waits for Redis before it is let through uncounted. */
  timeoutMs?: number;
}

const WINDOW_MS = 60_000;

type StoreCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;
// The plugin's own Redis store (its Lua script: INCR, and PEXPIRE on the window's first request); not in its types.
const LibraryRedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  nameSpace: string,
) => FastifyRateLimitStore;

/**
 * The plugin's Redis store with a deadline and a warning. A request never waits on a Redis that stopped
 * answering, and when Redis fails the request goes through uncounted (fail open, with `skipOnError`): an
 * accepted edit is durable in Postgres and needs no Redis, so an outage of the limiter must not become an
 * outage of the API. What an outage costs is that limits are not enforced until Redis is back.
 */
function storeWithDeadline(inner: FastifyRateLimitStore, timeoutMs: number, logger: Logger) {
  return class DeadlineStore implements FastifyRateLimitStore {
    incr(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
      let settled = false;
      const settle = (error: Error | null, result?: { current: number; ttl: number }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) logger.warn({ err: error.message }, 'rate limit not enforced: Redis failed; the request goes through');
        callback(error, result);
      };
      const timer = setTimeout(() => settle(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      inner.incr(key, settle, timeWindow, max);
    }
    child(): FastifyRateLimitStore {
      // Every /v1 route counts into the client's one key; per-route limits are not used.
      return this;
    }
  };
}

const isUnlimited = (request: FastifyRequest) => request.client.rateLimitPerMinute === null;

/**
 * Each client's `rateLimitPerMinute` over every route of the scope that registers it (after bearerAuth, which
 * names the client), counted in Redis per client id, so the limit holds across API replicas: a window of one
 * minute opens on a client's first request. Over it: 429 RATE_LIMITED with Retry-After and the IETF draft
 * RateLimit-* headers. Clients without a limit (bootstrap keys among them) are not counted.
 */
export const clientRateLimit = fp(
  async (app: FastifyInstance, opts: ClientRateLimitOptions) => {
    const inner = new LibraryRedisStore(false, false, opts.redis, opts.nameSpace);
    await app.register(rateLimit, {
      global: true,
      hook: 'onRequest',
      timeWindow: WINDOW_MS,
      store: storeWithDeadline(inner, opts.timeoutMs ?? 500, opts.logger),
      skipOnError: true,
      enableDraftSpec: true,
      keyGenerator: (request) => request.client.id,
      allowList: (request) => isUnlimited(request),
      max: (request) => request.client.rateLimitPerMinute ?? Number.MAX_SAFE_INTEGER,
      errorResponseBuilder: (_request, context) =>
        new AppError(429, 'RATE_LIMITED', `This client may make ${context.max} requests per minute; retry in ${context.after}`, {
          limitPerMinute: context.max,
          retryAfterSeconds: Math.ceil(context.ttl / 1000),
        }),
    });
  },
  { name: 'client-rate-limit', fastify: '5.x', dependencies: ['bearer-auth', 'error-handler'] },
);
