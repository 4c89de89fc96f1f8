import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { dropDatabase, ensureDatabaseExists, withDatabase } from '../src/infra/database.js';
import pg from 'pg';
import { applyMigrations } from '../src/infra/migrate.js';
// Brings in the ProvidedContext declaration that types project.provide.
import type {} from './helpers/services.js';

// Runs once per `vitest run`, in the main process: a fresh, migrated database on the server of DATABASE_URL,
// so tests never see a developer's data and parallel runs (or CI beside a dev shell) never collide.
const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const name = `pixelrelay_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = withDatabase(process.env.DATABASE_URL || DEFAULT_SERVER_URL, name);
  await ensureDatabaseExists(databaseUrl);
  try {
    await applyMigrations(databaseUrl);
  } catch (err) {
    await dropDatabase(databaseUrl);
    throw err;
  }

  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', process.env.REDIS_URL || DEFAULT_REDIS_URL);

  return async () => {
    if (process.env.KEEP_TEST_DB === '1') {
      console.log(`KEEP_TEST_DB=1: kept ${databaseUrl}`);
      return;
    }
    await dropDatabase(databaseUrl);
    // Copies made by isolatedDatabase() that a crashed test file left behind.
    await dropDatabasesNamedLike(databaseUrl, `${name}_%`);
  };
}

async function dropDatabasesNamedLike(serverUrl: string, pattern: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [pattern]);
    for (const { datname } of rows) await dropDatabase(withDatabase(serverUrl, datname));
  } finally {
    await client.end();
  }
}
