import { Redis, type RedisOptions } from 'ioredis';

/**
 * The API's connection fails fast: with Redis down a request gets an answer now, not a hang.
 * Workers' connections wait and retry forever, as BullMQ requires for blocking commands.
 */
export function createRedis(url: string, role: 'producer' | 'worker', extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...extra,
  };
  if (role === 'producer') {
    return new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  }
  return new Redis(url, { ...common, maxRetriesPerRequest: null, enableReadyCheck: false });
}
