import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseName, dropDatabase, ensureDatabaseExists, withDatabase } from '../../src/infra/database.js';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH, diffSchemaToMigration, loadMigrations } from '../../src/infra/migrate.js';
import { testDatabaseUrl } from '../helpers/services.js';

// Each test makes its own databases on the test server and drops them afterwards.
const created: string[] = [];
function scratchDatabaseUrl(): string {
  const url = withDatabase(testDatabaseUrl(), `pixelrelay_scratch_${Date.now()}_${randomBytes(3).toString('hex')}`);
  created.push(url);
  return url;
}
afterAll(async () => {
  await Promise.all(created.map((url) => dropDatabase(url)));
});

async function query<T extends pg.QueryResultRow>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('ensureDatabaseExists', () => {
  it('creates a missing database once and is idempotent, also under a concurrent creator', async () => {
    const url = scratchDatabaseUrl();
    const results = await Promise.all([ensureDatabaseExists(url), ensureDatabaseExists(url), ensureDatabaseExists(url)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await ensureDatabaseExists(url)).toBe(false);
    const rows = await query<{ datname: string }>(url, 'SELECT current_database() AS datname');
    expect(rows[0]?.datname).toBe(databaseName(url));
  });

  it('quotes the name', async () => {
    const url = withDatabase(testDatabaseUrl(), `pixelrelay Scratch "q" ${randomBytes(3).toString('hex')}`);
    created.push(url);
    expect(await ensureDatabaseExists(url)).toBe(true);
    await dropDatabase(url);
    expect(await ensureDatabaseExists(url)).toBe(true);
  });
});

describe('applyMigrations', () => {
  it('migrates a fresh database and records each migration as prisma migrate deploy does', async () => {
    const url = scratchDatabaseUrl();
    await ensureDatabaseExists(url);
    const { migrationDirectories } = await loadMigrations(DEFAULT_MIGRATIONS_DIR);
    const names = migrationDirectories.map((m) => m.path);
    expect(names.length).toBeGreaterThan(0);

    expect(await applyMigrations(url)).toEqual(names);

    const tables = await query<{ tablename: string }>(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(['Edit', 'EditTransition', 'SubmitAttempt', 'WebhookEvent', '_prisma_migrations']));

    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number }>(
      url,
      'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
      // Prisma's checksum is the SHA-256 of migration.sql: matching it keeps `prisma migrate deploy` happy later.
      const sql = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
    }

    expect(await applyMigrations(url)).toEqual([]);
    const again = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM _prisma_migrations');
    expect(Number(again[0]?.n)).toBe(names.length);
  });

  it('throws an error naming the migration that failed, and refuses to go on after it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pixelrelay-migrations-'));
    try {
      await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
      const bad = path.join(dir, '29991231235959_broken');
      await mkdir(bad);
      await writeFile(path.join(bad, 'migration.sql'), 'ALTER TABLE "NoSuchTable" ADD COLUMN "x" INTEGER;\n');
      const url = scratchDatabaseUrl();
      await ensureDatabaseExists(url);

      await expect(applyMigrations(url, { migrationsDir: dir })).rejects.toThrow(/migration 29991231235959_broken failed: .*NoSuchTable/);
      await expect(applyMigrations(url, { migrationsDir: dir })).rejects.toThrow(/29991231235959_broken/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('diffSchemaToMigration', () => {
  it('finds nothing to do: prisma/schema.prisma has a migration for every change (else run `npm run migration:create -- <name>`)', async () => {
    expect(await diffSchemaToMigration(testDatabaseUrl())).toBeNull();
  });

  it('writes the SQL for a schema change, replaying the migrations in a shadow database it cleans up', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pixelrelay-schema-'));
    try {
      const schema = await readFile(DEFAULT_SCHEMA_PATH, 'utf8');
      const schemaPath = path.join(dir, 'schema.prisma');
      await writeFile(schemaPath, schema.replace(/^model Edit \{\n/m, 'model Edit {\n  migrationTestField String?\n'));
      const before = await shadowDatabases();

      const sql = await diffSchemaToMigration(testDatabaseUrl(), { schemaPath });

      expect(sql).toMatch(/ALTER TABLE "Edit" ADD COLUMN\s+"migrationTestField" TEXT/);
      expect(sql).not.toMatch(/CREATE TABLE/);
      expect(await shadowDatabases()).toEqual(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function shadowDatabases(): Promise<string[]> {
  const rows = await query<{ datname: string }>(testDatabaseUrl(), "SELECT datname FROM pg_database WHERE datname LIKE 'pixelrelay_shadow_%' ORDER BY 1");
  return rows.map((r) => r.datname);
}
