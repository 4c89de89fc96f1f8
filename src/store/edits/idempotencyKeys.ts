import type { IdempotencyKey } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** Idempotency-Keys are stored with their edit (insertEdits.ts); these read them back and drop the expired. */

/** The key, unless it expired: an expired one is deleted as it is found, so the same key can make a new edit. */
export async function findIdempotencyKey(db: Db, clientId: string, key: string): Promise<IdempotencyKey | null> {
  const found = await db.idempotencyKey.findUnique({ where: { clientId_key: { clientId, key } } });
  if (found && found.expiresAt <= new Date()) {
    await db.idempotencyKey.deleteMany({ where: { clientId, key, expiresAt: { lte: new Date() } } });
    return null;
  }
  return found;
}

export async function deleteExpiredIdempotencyKeys(db: Db): Promise<number> {
  return (await db.idempotencyKey.deleteMany({ where: { expiresAt: { lte: new Date() } } })).count;
}
