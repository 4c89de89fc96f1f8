import { inject } from 'vitest';

// The real services tests run against, set up once per run by test/globalSetup.ts.
declare module 'vitest' {
  export interface ProvidedContext {
    /** A throwaway database with every migration applied; dropped after the run. */
    databaseUrl: string;
    redisUrl: string;
  }
}

export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

export function testRedisUrl(): string {
  return inject('redisUrl');
}
