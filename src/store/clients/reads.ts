import type { ApiKey, Client } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** The plain reads of clients and their daily spend, through Prisma. */

export type ClientWithKeys = Client & { apiKeys: ApiKey[] };

export const keysOldestFirst = { apiKeys: { orderBy: { createdAt: 'asc' as const } } };

export function list(db: Db): Promise<ClientWithKeys[]> {
  return db.client.findMany({ include: keysOldestFirst, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

export function findById(db: Db, id: string): Promise<ClientWithKeys | null> {
  return db.client.findUnique({ where: { id }, include: keysOldestFirst });
}

/** What counts against the client's budget on `day` (a UTC date, YYYY-MM-DD; see budgetDay). */
export async function reservedOn(db: Db, clientId: string, day: string): Promise<bigint> {
  const row = await db.clientDailySpend.findUnique({ where: { clientId_day: { clientId, day: new Date(`${day}T00:00:00.000Z`) } } });
  return row?.reservedMicroCents ?? 0n;
}
