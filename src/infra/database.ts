import pg from 'pg';

/**
 * Creating and dropping whole databases, which Postgres only allows from a connection to another
 * database on the same server. Used by the migrate CLI, the test setup and the migration diff's shadow database.
 */

// Postgres error codes we expect when two processes race to create the same database.
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505'; // pg_database_datname_index, when both CREATEs get past the catalog check
const INVALID_CATALOG_NAME = '3D000';

/** The database a URL names, e.g. `pixelrelay` for `postgresql://host:5432/pixelrelay`. */
export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new Error(`database URL names no database: ${redactUrl(databaseUrl)}`);
  return name;
}

/** The same server, user and options as `databaseUrl`, but database `name`. */
export function withDatabase(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** A URL safe to print: the password, if any, is masked. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<invalid database URL>';
  }
}

/** Creates the database `databaseUrl` names unless it exists. Returns true if this call created it. */
export async function ensureDatabaseExists(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withMaintenanceClient(databaseUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      return true;
    } catch (err) {
      // Someone else created it between our check and our CREATE: it exists, which is all we want.
      const code = (err as { code?: string }).code;
      if (code === DUPLICATE_DATABASE || code === UNIQUE_VIOLATION) return false;
      throw err;
    }
  });
}

/** Drops the database `databaseUrl` names, disconnecting its sessions. Does nothing if it is missing. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  if (name === 'postgres' || name.startsWith('template')) throw new Error(`refusing to drop the maintenance database ${name}`);
  await withMaintenanceClient(databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  });
}

/** Runs `work` on a connection to the server's `postgres` database (or `template1` where there is none). */
async function withMaintenanceClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  let client: pg.Client;
  try {
    client = await connect(withDatabase(databaseUrl, 'postgres'));
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_CATALOG_NAME) throw err;
    client = await connect(withDatabase(databaseUrl, 'template1'));
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function connect(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
  // An unhandled 'error' event (server restart mid-query) would crash the process instead of failing the query.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Creates database `name` as a copy of the one `templateUrl` names (which must have no open sessions) and
 * returns its URL. A file-level copy: far faster than migrating a new database from scratch.
 */
export async function copyDatabase(templateUrl: string, name: string): Promise<string> {
  const template = databaseName(templateUrl);
  await withMaintenanceClient(templateUrl, async (client) => {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(template)}`);
  });
  return withDatabase(templateUrl, name);
}
