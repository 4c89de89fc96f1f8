import { Redis } from 'ioredis';

/** Commands the Redis server has run since it started (INFO stats). */
export async function redisCommands(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? Number.NaN);
  } finally {
    redis.disconnect();
  }
}
