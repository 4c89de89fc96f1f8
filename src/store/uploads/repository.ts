import type { Upload } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { createUpload, type NewUpload } from './createUpload.js';
import { findOwnedUploads } from './findOwnedUploads.js';
import { type RenewedFile, renewUpload } from './renewUpload.js';

export type { NewUpload, RenewedFile, Upload };

/** Clients' uploads, as the engine uses them: each method is one operation of its own file beside this one. */
export class UploadRepository {
  constructor(private readonly db: Db) {}

  create(upload: NewUpload): Promise<Upload> {
    return createUpload(this.db, upload);
  }

  findOwned(clientId: string, ids: readonly string[]): Promise<Upload[]> {
    return findOwnedUploads(this.db, clientId, ids);
  }

  /** The upload now names the file PixelByte was given again (from our copy in the bucket). */
  renew(id: string, file: RenewedFile): Promise<Upload> {
    return renewUpload(this.db, id, file);
  }
}
