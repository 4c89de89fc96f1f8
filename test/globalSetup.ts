import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { databaseName, dropDatabase, ensureDatabaseExists, withDatabase } from '../src/infra/database.js';
import { applyMigrations } from '../src/infra/migrate.js';
import { deleteKeys } from '../testkit/redisKeys.js';
// Brings in the ProvidedContext declaration that types project.provide.
import type {} from './helpers/services.js';

// Runs once per `vitest run`, in the main process: a fresh, migrated database on the server of DATABASE_URL,
// so tests never see a developer's data and parallel runs (or CI beside a dev shell) never collide.
const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const TEST_DB_PREFIX = 'pixelrelay_test_';
// Every Redis key a run writes starts with `test-<start time>-<random>-` (testQueuePrefix), so the run can delete its own
// and only its own: other runs may share this Redis right now.
const TEST_REDIS_PREFIX = 'test-';
const ABANDONED_AFTER_MS = 6 * 60 * 60 * 1000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.DATABASE_URL || DEFAULT_SERVER_URL;
  await dropAbandonedTestDatabases(serverUrl);
  const name = `${TEST_DB_PREFIX}${Date.now()}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = withDatabase(serverUrl, name);
  await ensureDatabaseExists(databaseUrl);
  try {
    await applyMigrations(databaseUrl);
  } catch (err) {
    await dropDatabase(databaseUrl);
    throw err;
  }

  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const redisPrefix = `${TEST_REDIS_PREFIX}${Date.now()}-${randomBytes(3).toString('hex')}`;
  await deleteAbandonedTestKeys(redisUrl);

  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  project.provide('redisPrefix', redisPrefix);

  return async () => {
    if (process.env.KEEP_TEST_DB === '1') {
      console.log(`KEEP_TEST_DB=1: kept ${databaseUrl} and the Redis keys ${redisPrefix}-*`);
      return;
    }
    await dropDatabase(databaseUrl);
    // Copies made by isolatedDatabase() that a crashed test file left behind.
    await dropDatabasesNamedLike(databaseUrl, `${databaseName(databaseUrl)}_%`);
    // Queues, rate-limit counters, answer notes: whatever the run's relays and tests wrote.
    await deleteKeys(redisUrl, `${redisPrefix}-*`);
  };
}

/** Keys of runs that were killed before their teardown, recognised by the start time in their prefix. */
async function deleteAbandonedTestKeys(redisUrl: string): Promise<void> {
  const cutoff = Date.now() - ABANDONED_AFTER_MS;
  await deleteKeys(redisUrl, `${TEST_REDIS_PREFIX}*`, (key) => Number(/^test-(\d{13})-[0-9a-f]{6}-/.exec(key)?.[1] ?? Infinity) < cutoff);
}

async function dropDatabasesNamedLike(serverUrl: string, pattern: string): Promise<void> {
  for (const name of await databasesNamedLike(serverUrl, pattern)) await dropDatabase(withDatabase(serverUrl, name));
}

/** Test databases of runs that were killed before their teardown, recognised by the time in their name. */
async function dropAbandonedTestDatabases(serverUrl: string): Promise<void> {
  const cutoff = Date.now() - ABANDONED_AFTER_MS;
  const names = await databasesNamedLike(serverUrl, `${TEST_DB_PREFIX}%`);
  const abandoned = names.filter((name) => Number(/^pixelrelay_test_(\d+)_/.exec(name)?.[1] ?? Infinity) < cutoff);
  for (const name of abandoned) await dropDatabase(withDatabase(serverUrl, name));
}

async function databasesNamedLike(serverUrl: string, pattern: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [pattern]);
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}
