import type { Upload } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

export type NewUpload = Omit<Upload, 'createdAt'>;

export function createUpload(db: Db, upload: NewUpload): Promise<Upload> {
  return db.upload.create({ data: upload });
}
