import { Redis } from 'ioredis';

/**
 * Deletes the keys matching a SCAN `pattern` (and `only`, when given) from a Redis that others may be using right now:
 * how a test run, the bench and the soak take away the queues, counters and notes of their own prefix.
 */
export async function deleteKeys(redisUrl: string, pattern: string, only: (key: string) => boolean = () => true): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const doomed = keys.filter(only);
      if (doomed.length > 0) await redis.unlink(...doomed);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
