import type { Upload } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** `storageKey`: set once our own copy is in the bucket (storage configured), else left null. */
export type NewUpload = Omit<Upload, 'createdAt' | 'storageKey'> & { storageKey?: string | null };

export function createUpload(db: Db, upload: NewUpload): Promise<Upload> {
  return db.upload.create({ data: upload });
}
