import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/generated/prisma/client.js';
import { createMetricsDatabase, METRICS_APPLICATION_NAME } from '../../src/infra/metricsDatabase.js';
import { TcpProxy, viaProxy } from '../../testkit/tcpProxy.js';
import { isolatedDatabase } from '../helpers/services.js';

const STATEMENT_TIMEOUT_MS = 300;

let database: { url: string; drop(): Promise<void> };
let watcher: pg.Client;

beforeAll(async () => {
  database = await isolatedDatabase();
  watcher = new pg.Client({ connectionString: database.url });
  await watcher.connect();
});

afterAll(async () => {
  await watcher?.end();
  await database?.drop();
});

describe("the scrape's connection to Postgres", () => {
  it('has Postgres cancel a statement past the statement timeout, and stays usable', async () => {
    const metricsDb = createMetricsDatabase(database.url, { statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    try {
      const err = await metricsDb.snapshot((q) => q.rows(Prisma.sql`SELECT pg_sleep(30)`)).catch((e: unknown) => e);
      // query_canceled, "canceling statement due to statement timeout": ended by Postgres, not given up on.
      expect(err).toMatchObject({ code: '57014' });
      const { rows } = await watcher.query<{ running: number }>(
        `SELECT count(*)::int AS running FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND state <> 'idle'`,
        [METRICS_APPLICATION_NAME],
      );
      expect(rows[0]!.running).toBe(0);
      expect(await metricsDb.snapshot((q) => q.rows(Prisma.sql`SELECT 1 AS one`))).toEqual([{ one: 1 }]);
    } finally {
      await metricsDb.close();
    }
  });

  it('reads in a read-only snapshot', async () => {
    const metricsDb = createMetricsDatabase(database.url, { statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    try {
      const err = await metricsDb.snapshot((q) => q.rows(Prisma.sql`CREATE TABLE "metricsMayNotWrite" (id int)`)).catch((e: unknown) => e);
      // read_only_sql_transaction
      expect(err).toMatchObject({ code: '25006' });
    } finally {
      await metricsDb.close();
    }
  });

  it('closes a connection that stopped answering instead of waiting on it, and reads on a new one', async () => {
    const target = new URL(database.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const metricsDb = createMetricsDatabase(viaProxy(database.url, proxy), { statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    try {
      expect(await metricsDb.snapshot((q) => q.rows(Prisma.sql`SELECT 1 AS one`))).toEqual([{ one: 1 }]);
      proxy.stall();
      await expect(metricsDb.snapshot((q) => q.rows(Prisma.sql`SELECT 2 AS two`))).rejects.toThrow(/no answer/);
      proxy.resume();
      expect(await metricsDb.snapshot((q) => q.rows(Prisma.sql`SELECT 3 AS three`))).toEqual([{ three: 3 }]);
    } finally {
      await metricsDb.close();
      await proxy.stop();
    }
  });
});
