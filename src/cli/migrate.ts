import { ensureDatabaseExists, redactUrl } from '../infra/database.js';
import { applyMigrations } from '../infra/migrate.js';

// `npm run migrate` (and the one-shot `migrate` service in docker-compose): create the database if it is
// missing, then apply what `prisma/migrations` has that the database has not, like `prisma migrate deploy`.
const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/pixelrelay';

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  if (await ensureDatabaseExists(databaseUrl)) console.log(`created database ${redactUrl(databaseUrl)}`);
  const applied = await applyMigrations(databaseUrl);
  for (const name of applied) console.log(`applied ${name}`);
  if (applied.length === 0) console.log('database is up to date');
}

try {
  await main();
  // The wasm engine leaves a 10 s timer behind after it is freed; the work is done, so do not wait for it.
  process.exit(0);
} catch (err) {
  console.error(`migrate: ${oneLine(err)}`);
  process.exit(1);
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' | ').trim() || 'unknown error';
}
