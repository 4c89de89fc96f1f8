import type { Db } from '../../infra/prisma.js';
import type { NewApiKey } from './addKey.js';
import { type ClientWithKeys, keysOldestFirst } from './reads.js';

export interface NewClient {
  id: string;
  name: string;
  dailyBudgetMicroCents: bigint | null;
  rateLimitPerMinute: number | null;
  weight: number;
  maxConcurrency: number | null;
  maxQueued: number | null;
}

/** A client is never without a key: both are stored in one transaction. */
export async function createClient(db: Db, client: NewClient, key: NewApiKey): Promise<ClientWithKeys> {
  return db.$transaction(async (tx) => {
    await tx.client.create({ data: client });
    await tx.apiKey.create({ data: { ...key, clientId: client.id } });
    return tx.client.findUniqueOrThrow({ where: { id: client.id }, include: keysOldestFirst });
  });
}
