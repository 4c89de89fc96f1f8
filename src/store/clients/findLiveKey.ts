import type { Db } from '../../infra/prisma.js';

export interface LiveKey {
  keyId: string;
  clientId: string;
  dailyBudgetMicroCents: bigint | null;
  rateLimitPerMinute: number | null;
  maxQueued: number | null;
}

/**
 * The live key with this hash and what the request needs of its client: one statement through the unique index on
 * `hash`, run on every API request. Raw SQL, as Prisma's `include` would make it two round trips.
 */
export async function findLiveKey(db: Db, hash: string): Promise<LiveKey | null> {
  const [key] = await db.$queryRaw<LiveKey[]>`
      SELECT k."id" AS "keyId", c."id" AS "clientId", c."dailyBudgetMicroCents", c."rateLimitPerMinute", c."maxQueued"
      FROM "ApiKey" k JOIN "Client" c ON c."id" = k."clientId"
      WHERE k."hash" = ${hash} AND k."revokedAt" IS NULL`;
  return key ?? null;
}
