import type { Logger } from 'pino';
import type { Bucket } from '../../storage/bucket.js';
import type { Upload, UploadRepository } from '../../store/uploads/repository.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { fileNameFor, type ImageType } from './imageType.js';

export interface UploadRenewerDeps {
  bucket: Pick<Bucket, 'get' | 'put' | 'keyOf'>;
  pixelbyte: Pick<PixelByteClient, 'presignUpload' | 'putUpload'>;
  uploads: Pick<UploadRepository, 'renew'>;
  /** PIXELBYTE_UPLOAD_LIFE_MS. */
  lifeMs: number;
  logger: Logger;
  now?: () => Date;
}

/**
 * Our own copy of each upload, in the storage bucket: kept when the upload is made, and given to PixelByte again when
 * its file there is gone (or as good as gone) by the time an edit naming it is submitted, so such an edit is sent
 * with a file PixelByte can read instead of failing UPLOAD_EXPIRED. Only with a storage bucket.
 */
export class UploadRenewer {
  private readonly now: () => Date;
  private readonly renewing = new Map<string, Promise<Upload>>();

  constructor(private readonly deps: UploadRenewerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The bucket key of an upload's copy. */
  keyOf(clientId: string, uploadId: string, type: ImageType): string {
    return this.deps.bucket.keyOf(clientId, 'uploads', fileNameFor(uploadId, type));
  }

  /** Keeps a copy of the upload's bytes; the key, or null when the bucket did not take it (the upload stands without). */
  async keep(clientId: string, uploadId: string, type: ImageType, chunks: readonly Buffer[]): Promise<string | null> {
    const key = this.keyOf(clientId, uploadId, type);
    try {
      await this.deps.bucket.put(key, Buffer.concat(chunks), type);
      return key;
    } catch (err) {
      this.deps.logger.warn({ err, uploadId }, 'could not keep a copy of an upload in the bucket; it cannot be renewed once PixelByte deletes it');
      return null;
    }
  }

  renewable(upload: Upload): boolean {
    return upload.storageKey !== null;
  }

  /**
   * Reads our copy and uploads it to PixelByte again (presign, PUT), recording where PixelByte holds it now. Edits of
   * this process naming the same upload at once share one renewal (another process may make its own: both files work).
   */
  renew(upload: Upload): Promise<Upload> {
    const running = this.renewing.get(upload.id);
    if (running) return running;
    const renewal = this.renewOnce(upload).finally(() => this.renewing.delete(upload.id));
    this.renewing.set(upload.id, renewal);
    return renewal;
  }

  private async renewOnce(upload: Upload): Promise<Upload> {
    if (!upload.storageKey) throw new Error(`upload ${upload.id} has no copy in the bucket`);
    const { body } = await this.deps.bucket.get(upload.storageKey);
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    const startedAt = this.now();
    const type = upload.contentType as ImageType;
    const presigned = await this.deps.pixelbyte.presignUpload({ filename: fileNameFor(upload.id, type), contentType: type });
    await this.deps.pixelbyte.putUpload(presigned.uploadUrl, { contentType: type, bytes, chunks });
    const renewed = await this.deps.uploads.renew(upload.id, {
      pixelbyteFileId: presigned.fileId,
      fileUrl: presigned.fileUrl,
      expiresAt: new Date(startedAt.getTime() + this.deps.lifeMs),
    });
    this.deps.logger.info({ uploadId: upload.id, fileId: presigned.fileId, bytes }, 'upload given to PixelByte again from our copy');
    return renewed;
  }
}
