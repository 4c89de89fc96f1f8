import pg from 'pg';
import { Prisma } from '../generated/prisma/client.js';

/**
 * The few statements an edit runs on its way (accept, submit, webhook) go to Postgres through node-postgres on the
 * pool Prisma's adapter uses, not through the Prisma client: measured on the relay's own statements, Prisma spends
 * about 130 µs of CPU per query on top of pg's 80 (its request pipeline, the query interpreter, parameter and
 * result mapping), and the hot path runs five statements per edit. Statements are still written with Prisma's
 * `sql` tag (values always bound, never spliced), and rows come back in Prisma's own types (below), so the rest of
 * the code cannot tell which way a row came.
 */

// Prisma writes and reads `timestamp(3)` as UTC; pg's default would read it as the process's local time.
const parseUtcTimestamp = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
const PARSERS = new Map<number, (text: string) => unknown>([
  [pg.types.builtins.TIMESTAMP, parseUtcTimestamp],
  [pg.types.builtins.INT8, BigInt],
]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => PARSERS.get(oid) ?? pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A parameter as Postgres should see it; JSON goes in as text (`json()`) and is cast in the statement. */
function bind(value: unknown): unknown {
  // pg would send a Date in the process's time zone; `timestamp` columns hold UTC.
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** JSON bound as its text, for a `::jsonb` cast: pg would send a JS array as a Postgres array. */
export const json = (value: unknown): string => JSON.stringify(value);

/** Postgres refused a statement (an error it reported, not a failed connection). */
export const isPgDatabaseError = (err: unknown): err is pg.DatabaseError => err instanceof pg.DatabaseError;

/** Postgres's unique_violation, as pg reports it. */
export const isPgUniqueViolation = (err: unknown): boolean => isPgDatabaseError(err) && err.code === '23505';

const MAX_PREPARED = 100;

export type Row = Record<string, unknown>;

/**
 * `alias."col", …`, optionally renamed `AS "<prefix>col"` so that two tables' columns can share a row. Columns are
 * listed, never `*`: a column a migration adds must not change the shape of a statement already prepared.
 */
export const listColumns = (alias: string, names: readonly string[], prefix = ''): Prisma.Sql =>
  Prisma.raw(names.map((c) => `${alias}."${c}"${prefix ? ` AS "${prefix}${c}"` : ''}`).join(', '));

/**
 * A constant set of our own (statuses, outcomes) written into a statement's text as a literal list: a bound list
 * gets a generic plan that cannot know the set is short and rare. Never for values that come from outside.
 */
export const literalList = (values: readonly string[]): Prisma.Sql => Prisma.raw(values.map((v) => `'${v}'`).join(', '));

/** One table's columns out of a row `listColumns` renamed with `prefix`. */
export function pickColumns<T>(row: Row, names: readonly string[], prefix = ''): T {
  const picked: Row = {};
  for (const name of names) picked[name] = row[`${prefix}${name}`];
  return picked as T;
}

/** Runs statements; inside `transaction`, all on one connection. */
export interface SqlQuery {
  rows<T extends Row>(statement: Prisma.Sql): Promise<T[]>;
}

export class Sql implements SqlQuery {
  /** Statement text → the name it is prepared under on each connection (parsed and planned once per connection). */
  private readonly names = new Map<string, string>();

  constructor(readonly pool: pg.Pool) {}

  rows<T extends Row>(statement: Prisma.Sql): Promise<T[]> {
    return this.run<T>(this.pool, statement);
  }

  /** BEGIN … COMMIT on one connection (ROLLBACK when `work` throws). For the rare paths that need a lock first. */
  async transaction<T>(work: (q: SqlQuery) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work({ rows: (statement) => this.run(client, statement) });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: it is closed, not reused.
      client.release(broken);
    }
  }

  private async run<T extends Row>(on: pg.Pool | pg.PoolClient, statement: Prisma.Sql): Promise<T[]> {
    const text = statement.text;
    const result = await on.query<T>({ name: this.nameOf(text), text, values: statement.values.map(bind), types });
    return result.rows;
  }

  private nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined) {
      // The hot statements come in a few shapes; past that, a statement runs unnamed rather than grow every connection's cache.
      if (this.names.size >= MAX_PREPARED) return undefined;
      name = `pixelrelay_${this.names.size + 1}`;
      this.names.set(text, name);
    }
    return name;
  }
}
