import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { describe, expect, it } from 'vitest';
import { Prisma } from '../../src/generated/prisma/client.js';
import { isDatabaseUnavailable } from '../../src/infra/databaseErrors.js';

// The shapes are the ones Prisma 7 (adapter-pg) and node-postgres threw when a TCP proxy in front of Postgres
// reset or closed pooled connections (test/faults/droppedConnections.test.ts drives the same faults).

const clientVersion = Prisma.prismaVersion.client;
/** How Prisma reports a failed query: adapter-pg's own error is under `meta.driverAdapterError`, not `cause`. */
const knownRequestError = (code: string, message: string, driverAdapterError: DriverAdapterError) =>
  new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion, meta: { driverAdapterError } });
const connectionClosed = () => new DriverAdapterError({ kind: 'ConnectionClosed' });
const errno = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    [
      'a $queryRaw on a reset connection (P2010, meta.driverAdapterError ConnectionClosed)',
      knownRequestError('P2010', 'Raw query failed. Code: `N/A`. Message: `Server has closed the connection.`', connectionClosed()),
    ],
    [
      'a model query on a reset connection (P1017, meta.driverAdapterError ConnectionClosed)',
      knownRequestError('P1017', 'Server has closed the connection.', connectionClosed()),
    ],
    ['node-postgres reading a reset connection', errno('read ECONNRESET', 'ECONNRESET')],
    ['node-postgres writing to a reset connection', errno('write ECONNRESET', 'ECONNRESET')],
    ['node-postgres on a closed connection (FIN), through Prisma or not', new Error('Connection terminated unexpectedly')],
    ['the pool giving up on a connection', new Error('timeout exceeded when trying to connect')],
    ['Postgres refusing the connection', errno('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a Postgres shutting down (57P01)', errno('terminating connection due to administrator command', '57P01')],
    ['the cause one level down', new Error('wrapped', { cause: errno('read ECONNRESET', 'ECONNRESET') })],
    ['a driver adapter error itself', connectionClosed()],
  ])('%s: unavailable', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    [
      'a unique violation (P2002) with a driver adapter error of another kind',
      knownRequestError('P2002', 'Unique constraint failed', new DriverAdapterError({ kind: 'UniqueConstraintViolation', constraint: { fields: ['hash'] } })),
    ],
    [
      // P2010 is any raw query that failed: Postgres refusing the statement is an answer, not an outage.
      'a raw query Postgres refused (P2010, 22021 invalid byte sequence)',
      knownRequestError(
        'P2010',
        'Raw query failed. Code: `22021`.',
        new DriverAdapterError({
          kind: 'postgres',
          code: '22021',
          severity: 'ERROR',
          message: 'invalid byte sequence',
          detail: undefined,
          column: undefined,
          hint: undefined,
        }),
      ),
    ],
    ['a plain bug', new TypeError('Cannot read properties of undefined')],
    ['not an error at all', 'ECONNRESET'],
    ['null', null],
  ])('%s: not unavailable', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('stops on a cause chain that loops', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    a.cause = new Error('b', { cause: a });
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});
