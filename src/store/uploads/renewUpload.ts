import type { Upload } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** Where PixelByte holds an upload's file now, after it was uploaded there again from our own copy. */
export interface RenewedFile {
  pixelbyteFileId: string;
  fileUrl: string;
  expiresAt: Date;
}

export function renewUpload(db: Db, id: string, file: RenewedFile): Promise<Upload> {
  return db.upload.update({ where: { id }, data: file });
}
