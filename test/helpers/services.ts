import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { copyDatabase, databaseName, dropDatabase } from '../../src/infra/database.js';

// The real services tests run against, set up once per run by test/globalSetup.ts.
declare module 'vitest' {
  export interface ProvidedContext {
    /** A throwaway database with every migration applied; dropped after the run. Used as a template. */
    databaseUrl: string;
    redisUrl: string;
    /** Starts every Redis key this run writes; test/globalSetup.ts deletes them all after the run. */
    redisPrefix: string;
  }
}

export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A QUEUE_PREFIX of the caller's own (relays sharing one would take each other's jobs), under the run's Redis prefix. */
export function testQueuePrefix(): string {
  return `${inject('redisPrefix')}-${randomBytes(4).toString('hex')}`;
}

/**
 * A migrated database of the caller's own, copied from the run's template. Each running pixelrelay
 * sweeps and reconciles every edit in its database, so two relays under test must never share one.
 */
export async function isolatedDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const template = testDatabaseUrl();
  const url = await copyDatabase(template, `${databaseName(template)}_${randomBytes(4).toString('hex')}`);
  return { url, drop: () => dropDatabase(url) };
}
