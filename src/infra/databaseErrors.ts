/**
 * Errors that mean Postgres is unreachable or dropped the connection, however node-postgres and Prisma wrap
 * them: Prisma's driver-adapter errors (P1017, P2010) carry the cause under `meta.driverAdapterError`, not `cause`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  type Wrapped = { name?: string; code?: unknown; originalCode?: unknown; kind?: unknown; message?: unknown; cause?: unknown; meta?: unknown };
  const pending: unknown[] = [err];
  for (let seen = 0; pending.length > 0 && seen < 12; seen++) {
    const e = pending.shift() as Wrapped | undefined;
    if (!e || typeof e !== 'object') continue;
    if (e.name === 'PrismaClientInitializationError') return true;
    const code = e.code ?? e.originalCode;
    if (typeof code === 'string' && /^(P1001|P1017|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|57P01|57P03|53300|08\d{3})$/.test(code)) return true;
    if (e.kind === 'DatabaseNotReachable' || e.kind === 'ConnectionClosed' || e.kind === 'SocketTimeout') return true;
    if (typeof e.message === 'string' && /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(e.message)) return true;
    pending.push(e.cause, (e.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
  }
  return false;
}
