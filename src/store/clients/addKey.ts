import type { ApiKey } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

export interface NewApiKey {
  id: string;
  prefix: string;
  hash: string;
}

/** Null when the client does not exist. */
export async function addKey(db: Db, clientId: string, key: NewApiKey): Promise<ApiKey | null> {
  return db.$transaction(async (tx) => {
    // Locks the client row, so the key cannot be added to a client deleted meanwhile (and no FK error surfaces).
    const owners = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "Client" WHERE "id" = ${clientId}::uuid FOR SHARE`;
    if (owners.length === 0) return null;
    return tx.apiKey.create({ data: { ...key, clientId } });
  });
}
