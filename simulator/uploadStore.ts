import { randomBytes } from 'node:crypto';
import { randomId } from './jobStore.js';

/** The image types PixelByte presigns for (it takes video and audio types too, which pixelrelay never sends). */
export const IMAGE_CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;
/** PixelByte's `maxSize` for images: 10 MB as it counts them. */
export const IMAGE_MAX_BYTES = 10_485_760;

/** Where the CDN serves uploaded files: `/assets/uploads/{fileId}/{filename}`. */
export const ASSETS_PATH = '/assets/uploads';

export const fileUrlOf = (upload: SimUpload, baseUrl: string) => `${baseUrl}${ASSETS_PATH}/${upload.fileId}/${encodeURIComponent(upload.filename)}`;

export interface SimUpload {
  fileId: string;
  apiKey: string;
  filename: string;
  contentType: string;
  /** Carried by the uploadUrl: who holds the URL may PUT, as with a presigned storage URL. */
  token: string;
  createdAt: Date;
  /** The PUT is refused from then on. */
  uploadBy: Date;
  /** Null until the PUT; the bytes go when the file is deleted. */
  bytes: Buffer | null;
  uploadedAt: Date | null;
  deletesAt: Date | null;
}

/** Uploads in memory: presigned, then PUT, then deleted when their life is over. */
export class UploadStore {
  readonly uploads = new Map<string, SimUpload>();

  presign(fields: { apiKey: string; filename: string; contentType: string; urlTtlMs: number }, now = new Date()): SimUpload {
    const upload: SimUpload = {
      fileId: randomId('file'),
      apiKey: fields.apiKey,
      filename: fields.filename,
      contentType: fields.contentType,
      token: randomBytes(16).toString('base64url'),
      createdAt: now,
      uploadBy: new Date(now.getTime() + fields.urlTtlMs),
      bytes: null,
      uploadedAt: null,
      deletesAt: null,
    };
    this.uploads.set(upload.fileId, upload);
    return upload;
  }

  /** An upload as one API key sees it: another key's do not exist for it. */
  find(apiKey: string, fileId: string): SimUpload | undefined {
    const upload = this.uploads.get(fileId);
    return upload && upload.apiKey === apiKey ? upload : undefined;
  }

  store(upload: SimUpload, bytes: Buffer, lifeMs: number, now = new Date()): void {
    upload.bytes = bytes;
    upload.uploadedAt = now;
    upload.deletesAt = new Date(now.getTime() + lifeMs);
  }

  /** Drops the bytes of a file whose life is over (its timer does this; a read past `deletesAt` finds it gone either way). */
  delete(upload: SimUpload): void {
    upload.bytes = null;
  }

  /** The upload's bytes, while they can be read. */
  readable(fileId: string, now = new Date()): SimUpload | undefined {
    const upload = this.uploads.get(fileId);
    if (!upload?.bytes || !upload.deletesAt || now >= upload.deletesAt) return undefined;
    return upload;
  }

  /**
   * True when `url` is one of the files this simulator (at `baseUrl`) serves and it cannot be read: never uploaded,
   * or deleted. A job that names one fails, as PixelByte's does when it cannot fetch an input image.
   */
  isUnreadableFileUrl(url: string, baseUrl: string, now = new Date()): boolean {
    const prefix = `${baseUrl}${ASSETS_PATH}/`;
    if (!url.startsWith(prefix)) return false;
    return this.readable(url.slice(prefix.length).split('/')[0] ?? '', now) === undefined;
  }

  clear(): void {
    this.uploads.clear();
  }
}
