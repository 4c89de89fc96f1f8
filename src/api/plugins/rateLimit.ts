import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import { documentScope } from '../openapi/routeDocs.js';

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

type StoreResult = { current: number; ttl: number };
type StoreCallback = (error: Error | null, result?: StoreResult) => void;
type StoreCall = (key: string, callback: StoreCallback, timeWindow: number, max: number) => void;
// The plugin's own Redis store (its Lua scripts: INCR, and PEXPIRE on the window's first request; and a read that
// changes nothing); not in its types.
const LibraryRedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  nameSpace: string,
) => FastifyRateLimitStore & { read: StoreCall };

/**
 * One call of a store under a deadline, answered once: with the store's answer, or with an error when Redis
 * failed or did not answer within `timeoutMs`, which is logged with what goes unenforced.
 */
function withDeadline(timeoutMs: number, logger: Logger, unenforced: string, callback: StoreCallback, call: (settle: StoreCallback) => void): void {
  let settled = false;
  const settle: StoreCallback = (error, result) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (error) logger.warn({ err: error.message }, `${unenforced} not enforced: Redis failed; the request goes through`);
    callback(error, result);
  };
  const timer = setTimeout(() => settle(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  call(settle);
}

/**
 * The plugin's Redis store with a deadline and a warning. A request never waits on a Redis that stopped
 * answering, and when Redis fails the request goes through uncounted (fail open, with `skipOnError`): an
 * accepted edit is durable in Postgres and needs no Redis, so an outage of the limiter must not become an
 * outage of the API. What an outage costs is that limits are not enforced until Redis is back.
 */
function storeWithDeadline(inner: FastifyRateLimitStore, timeoutMs: number, logger: Logger) {
  return class DeadlineStore implements FastifyRateLimitStore {
    incr(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
      withDeadline(timeoutMs, logger, 'rate limit', callback, (settle) => inner.incr(key, settle, timeWindow, max));
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
    documentScope(app, { errors: ['RATE_LIMITED'] });
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
        new AppError('RATE_LIMITED', `This client may make ${context.max} requests per minute; retry in ${context.after}`, {
          limitPerMinute: context.max,
          retryAfterSeconds: Math.ceil(context.ttl / 1000),
        }),
    });
  },
  { name: 'client-rate-limit', fastify: '5.x', dependencies: ['bearer-auth', 'error-handler'] },
);

export interface AuthFailureLimitOptions {
  /** The API's fail-fast connection: every replica counts in the same keys. */
  redis: Redis;
  /** Keys live under it (QUEUE_PREFIX), apart from the clients' counts. */
  nameSpace: string;
  logger: Logger;
  /** AUTH_FAILURE_LIMIT: failed keys an address may present per window. */
  max: number;
  /** AUTH_FAILURE_WINDOW_MS: the window, opened by an address's first failure. */
  windowMs: number;
  /** The longest a request waits for Redis before it is let through unchecked. */
  timeoutMs?: number;
}

/** Failed bearer tokens counted per address, in Redis, across API replicas. */
export interface AuthFailureLimit {
  /** Seconds until `ip` may present a key again; null when it may now, or when Redis could not say (fail open). */
  blockedFor(ip: string): Promise<number | null>;
  /** Counts one failed key presented by `ip`. */
  recordFailure(ip: string): Promise<void>;
}

/**
 * A limit on failed authentication per address, so that a flood of well-formed wrong keys costs a Redis read each
 * instead of a database lookup each: after `max` failures in a window, the address's keys are refused (429) without
 * being looked up until the window ends. The plugin's Redis store counts (INCR, its expiry set by the first
 * failure) and reads, under the same deadline as the clients' limit, and fails open the same way.
 */
export function authFailureLimit(opts: AuthFailureLimitOptions): AuthFailureLimit {
  const store = new LibraryRedisStore(false, false, opts.redis, opts.nameSpace);
  const timeoutMs = opts.timeoutMs ?? 500;
  const call = (method: StoreCall, key: string) =>
    new Promise<StoreResult | null>((resolve) =>
      withDeadline(
        timeoutMs,
        opts.logger,
        'failed-authentication limit',
        (error, result) => resolve(error ? null : (result ?? null)),
        (settle) => method.call(store, key, settle, opts.windowMs, opts.max),
      ),
    );
  return {
    async blockedFor(ip) {
      const state = await call(store.read, addressKey(ip));
      if (!state || state.current < opts.max) return null;
      return Math.max(1, Math.ceil(state.ttl / 1000));
    },
    async recordFailure(ip) {
      const key = addressKey(ip);
      const state = await call(store.incr, key);
      if (state?.current === opts.max) {
        opts.logger.warn({ address: key, failures: state.current, retryAfterSeconds: Math.ceil(state.ttl / 1000) }, 'address blocked after failed API keys');
      }
    },
  };
}

/**
 * The address as failures are counted: IPv4 as is (also mapped into IPv6), IPv6 by its /64, the block one host or
 * customer is usually given whole, so that stepping through it does not start a new count at each address.
 */
export function addressKey(ip: string): string {
  const address = ip.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.split('::');
  const groupsOf = (part: string) => (part ? part.split(':') : []).flatMap(hexGroups);
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** A group of an IPv6 address, or the two an embedded IPv4 stands for. */
function hexGroups(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
