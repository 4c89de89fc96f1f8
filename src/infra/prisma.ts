import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { Sql } from './sql.js';

/** Prisma for most queries, and `sql` for the hot statements (infra/sql.ts), both on one pool. */
export type Db = PrismaClient & { readonly sql: Sql };

export interface PoolOptions {
  /** Connections; DATABASE_POOL_MAX. */
  max?: number;
  /** DATABASE_ACQUIRE_TIMEOUT_MS: pg's default is to wait for a connection forever. */
  acquireTimeoutMs?: number;
}

// An idle connection is closed after this: long enough that a steady trickle of edits keeps its connections.
const IDLE_TIMEOUT_MS = 30_000;

export function createPrisma(connectionString: string, options: PoolOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    // Fail fast when Postgres is down or every connection is busy, instead of queueing requests behind a dead pool.
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 5_000,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
  });
  // A connection that breaks (Postgres restarts, the network drops it) emits 'error': an idle one on the pool, a
  // checked-out one on its client, where pg-pool listens no more. Unheard, either ends the process; the holder of a
  // checked-out client learns of it from its next statement, and a broken idle one is dropped by the pool.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  const disconnectPrisma = prisma.$disconnect.bind(prisma);
  return Object.assign(prisma, {
    sql: new Sql(pool),
    // Prisma ends the pool only if it ever connected; the hot statements may have been the only users.
    $disconnect: async () => {
      await disconnectPrisma();
      if (!pool.ended) await pool.end();
    },
  });
}
