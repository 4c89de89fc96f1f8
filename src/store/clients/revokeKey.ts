import type { ApiKey } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** Revokes once: a second call leaves the first revocation time. Null when no such key exists. */
export async function revokeKey(db: Db, id: string): Promise<ApiKey | null> {
  await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  return db.apiKey.findUnique({ where: { id } });
}
