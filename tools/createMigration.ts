import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MIGRATIONS_DIR, diffSchemaToMigration, MIGRATION_LOCK_CONTENT, MIGRATION_LOCK_FILE } from '../src/infra/migrate.js';

// `npm run migration:create -- <name>`: writes prisma/migrations/<UTC timestamp>_<name>/migration.sql with
// the SQL that takes the existing migrations to prisma/schema.prisma (what `prisma migrate dev --create-only`
// writes). Needs a Postgres server for the throwaway shadow database; DATABASE_URL picks the server.
const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/pixelrelay';

async function main(args: string[]): Promise<void> {
  const name = migrationSlug(args.join(' '));
  if (!name) throw new Error('usage: npm run migration:create -- <name>   (letters, digits and underscores)');
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const migrationsDir = DEFAULT_MIGRATIONS_DIR;

  const sql = await diffSchemaToMigration(databaseUrl, { migrationsDir });
  if (sql === null) throw new Error('prisma/schema.prisma matches the migrations: there is nothing to migrate');

  const dirName = `${await nextTimestamp(migrationsDir)}_${name}`;
  const dir = path.join(migrationsDir, dirName);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), sql);
  await writeFile(path.join(migrationsDir, MIGRATION_LOCK_FILE), MIGRATION_LOCK_CONTENT, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });

  // Replaying the history with the new migration must land exactly on the schema; if it does not, the
  // migration is wrong and must not be left behind for someone to commit.
  const rest = await diffSchemaToMigration(databaseUrl, { migrationsDir });
  if (rest !== null) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`the generated migration does not reach the schema (removed it); still missing:\n${rest}`);
  }
  console.log(`wrote ${path.relative(process.cwd(), path.join(dir, 'migration.sql'))}`);
}

/** The same slug Prisma makes of a migration name: lower case, runs of anything else become one underscore. */
function migrationSlug(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200);
}

/** YYYYMMDDHHMMSS in UTC, like Prisma, and always after the newest existing migration so the order holds. */
async function nextTimestamp(migrationsDir: string): Promise<string> {
  const now = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const existing = await readdir(migrationsDir).catch(() => [] as string[]);
  const newest = existing
    .map((n) => /^(\d{14})_/.exec(n)?.[1])
    .filter((t): t is string => t !== undefined)
    .sort()
    .at(-1);
  if (newest === undefined || now > newest) return now;
  // Same second (or a clock behind a committed migration): one second after the newest, as a 14-digit stamp.
  const d = new Date(
    Date.UTC(+newest.slice(0, 4), +newest.slice(4, 6) - 1, +newest.slice(6, 8), +newest.slice(8, 10), +newest.slice(10, 12), +newest.slice(12, 14)) + 1000,
  );
  return d.toISOString().replace(/\D/g, '').slice(0, 14);
}

try {
  await main(process.argv.slice(2));
  process.exit(0);
} catch (err) {
  console.error(`migration:create: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
