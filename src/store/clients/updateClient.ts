import type { Db } from '../../infra/prisma.js';
import type { NewClient } from './createClient.js';
import { type ClientWithKeys, findById } from './reads.js';

export type ClientChanges = Partial<Pick<NewClient, 'name' | 'dailyBudgetMicroCents' | 'rateLimitPerMinute' | 'weight' | 'maxConcurrency' | 'maxQueued'>>;

/** The client as it is after the change; null when it does not exist. */
export async function updateClient(db: Db, id: string, changes: ClientChanges): Promise<ClientWithKeys | null> {
  const { count } = await db.client.updateMany({ where: { id }, data: changes });
  return count === 1 ? findById(db, id) : null;
}
