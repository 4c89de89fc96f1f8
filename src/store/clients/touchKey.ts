import type { Db } from '../../infra/prisma.js';

/** Records when the key was last used. */
export async function touchKey(db: Db, id: string, at: Date): Promise<void> {
  await db.apiKey.updateMany({ where: { id }, data: { lastUsedAt: at } });
}
