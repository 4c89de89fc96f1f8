import pg from 'pg';
import type { Prisma } from '../generated/prisma/client.js';
import type { Row, SqlQuery } from './sql.js';

export interface MetricsDatabaseOptions {
  /** METRICS_STATEMENT_TIMEOUT_MS: Postgres cancels a scrape's statement that runs longer. */
  statementTimeoutMs: number;
}

/** How the scrape's connection shows in pg_stat_activity, so that an operator can tell its queries apart. */
export const METRICS_APPLICATION_NAME = 'pixelrelay-metrics';

// A statement Postgres has not answered this long after its own timeout should have cancelled it is on a
// connection that is gone: the connection is closed, not waited on.
const LOST_CONNECTION_GRACE_MS = 1_000;
const IDLE_TIMEOUT_MS = 60_000;

/**
 * The scrape's own connection to Postgres, apart from the pool the API and the workers share: a metrics read
 * that Postgres holds up (a lock, a table grown large) can never take a connection they need.
 */
export interface MetricsDatabase {
  /** `work`'s statements in one read-only transaction on one connection: every figure is of the same instant. */
  snapshot<T>(work: (q: SqlQuery) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createMetricsDatabase(connectionString: string, options: MetricsDatabaseOptions): MetricsDatabase {
  const timeoutMs = options.statementTimeoutMs;
  const pool = new pg.Pool({
    connectionString,
    // Reads never overlap (metrics/scrapedMetric.ts sharedRead) and one runs on one connection.
    max: 1,
    // Set at connect, so Postgres itself cancels a statement past it: the query ends, its locks and snapshot with it.
    statement_timeout: timeoutMs,
    // A process that stops between two statements (paused, starved of CPU) must not keep the transaction open.
    idle_in_transaction_session_timeout: timeoutMs,
    application_name: METRICS_APPLICATION_NAME,
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
  });
  // An idle connection that breaks (Postgres restarts) emits here; unhandled, it would end the process.
  pool.on('error', () => {});

  return {
    async snapshot(work) {
      const client = await pool.connect();
      let lost: Error | undefined;
      const query = async <T extends Row>(text: string, values?: unknown[]): Promise<T[]> => {
        let timer: NodeJS.Timeout | undefined;
        const gone = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            lost = new Error(`a metrics statement had no answer ${timeoutMs + LOST_CONNECTION_GRACE_MS} ms after it was sent`);
            reject(lost);
          }, timeoutMs + LOST_CONNECTION_GRACE_MS);
        });
        try {
          return (await Promise.race([client.query<T>(text, values), gone])).rows;
        } finally {
          clearTimeout(timer);
        }
      };
      try {
        await query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const result = await work({ rows: (statement: Prisma.Sql) => query(statement.text, statement.values) });
        await query('COMMIT');
        return result;
      } catch (err) {
        if (!lost) {
          await query('ROLLBACK').catch((rollbackErr: Error) => {
            lost = rollbackErr;
          });
        }
        throw err;
      } finally {
        // Released with an error, the connection is closed instead of going back to the pool.
        client.release(lost);
      }
    },
    close: () => pool.end(),
  };
}
