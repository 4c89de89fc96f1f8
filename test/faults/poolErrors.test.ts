import { afterEach, describe, expect, it } from 'vitest';
import { createPrisma, type Db } from '../../src/infra/prisma.js';
import { TcpProxy, viaProxy } from '../../testkit/tcpProxy.js';
import { isolatedDatabase } from '../helpers/services.js';

// node-postgres emits a broken connection's error on the client that holds it; a client checked out of the pool
// (a transaction between statements) has no listener of pg-pool's, and an unheard 'error' ends the process.
let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe('a Postgres connection that breaks while checked out of the pool', () => {
  it('is an error for its holder, never an uncaught exception', async () => {
    const database = await isolatedDatabase();
    const target = new URL(database.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const db: Db = createPrisma(viaProxy(database.url, proxy), { max: 2 });
    cleanup.push(
      database.drop,
      () => proxy.stop(),
      () => db.$disconnect(),
    );

    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    cleanup.push(async () => process.removeListener('uncaughtException', onUncaught));

    const client = await db.sql.pool.connect();
    await client.query('SELECT 1');
    proxy.cut();
    await new Promise((r) => setTimeout(r, 300));
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    expect(uncaught).toEqual([]);

    proxy.restore();
    expect(await db.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });
});
