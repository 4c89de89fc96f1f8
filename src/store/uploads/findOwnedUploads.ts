import type { Upload } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** The uploads among `ids` that `clientId` made; another client's are left out, as if they did not exist. */
export function findOwnedUploads(db: Db, clientId: string, ids: readonly string[]): Promise<Upload[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.upload.findMany({ where: { id: { in: [...ids] }, clientId } });
}
