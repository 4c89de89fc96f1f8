import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import { isUuid } from '../../shared/ids.js';
import type { UploadRepository } from '../../store/uploads/repository.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { UpstreamError } from '../../upstream/errors.js';
import { fileNameFor, IMAGE_TYPES, mediaTypeOf, SNIFF_BYTES, sniffImageType } from './imageType.js';
import type { UploadRenewer } from './renewUploads.js';
import { toUploadResource, type UploadResource } from './uploadResource.js';

/** A file as the API received it: its chunks as they came (never joined), counted and hashed on the way in. */
export interface ReceivedFile {
  chunks: Buffer[];
  bytes: number;
  sha256: string;
  /** The type the client gave it (the body's or the part's Content-Type), if any. */
  declaredType?: string;
}

export interface UploadServiceDeps {
  uploads: Pick<UploadRepository, 'create' | 'findOwned'>;
  pixelbyte: Pick<PixelByteClient, 'presignUpload' | 'putUpload'>;
  logger: Logger;
  /** PIXELBYTE_UPLOAD_LIFE_MS: how long after the upload PixelByte deletes the file. */
  lifeMs: number;
  /** With a storage bucket: a copy of each upload is kept there, to give PixelByte again once its file is gone. */
  renewer?: Pick<UploadRenewer, 'keep'>;
  now?: () => Date;
}

export const fileTooLarge = (maxBytes: number) => new AppError('FILE_TOO_LARGE', `The file is larger than ${maxBytes} bytes`, { maxBytes });

export const uploadNotFound = (id: string) => new AppError('UPLOAD_NOT_FOUND', `No upload with id ${id}`);

/** A client's own images, put on PixelByte's storage for its edits to name. */
export class UploadService {
  private readonly now: () => Date;

  constructor(private readonly deps: UploadServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Checks the file by its bytes, has PixelByte presign it, PUTs it there and records it. Nothing is recorded
   * unless PixelByte has the file: a failure on the way leaves no upload behind, and the client sends it again.
   */
  async accept(file: ReceivedFile, clientId: string): Promise<UploadResource> {
    if (file.bytes === 0) throw new AppError('FILE_EMPTY', 'The file is empty');
    const type = sniffImageType(headOf(file.chunks));
    if (!type) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The file is not a JPEG, PNG, WebP or GIF image (judged by its bytes)', { allowed: IMAGE_TYPES });
    }
    const declared = file.declaredType === undefined ? undefined : mediaTypeOf(file.declaredType);
    if (declared !== undefined && declared !== 'application/octet-stream' && declared !== type) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `The file was sent as ${declared}, but its bytes are ${type}`, { declared, detected: type });
    }

    const id = randomUUID();
    // Before the presign, so `expiresAt` errs early: PixelByte's 60 minutes start when the PUT ends.
    const startedAt = this.now();
    const presigned = await this.upstream('presign', () => this.deps.pixelbyte.presignUpload({ filename: fileNameFor(id, type), contentType: type }));
    if (presigned.maxSize !== undefined && file.bytes > presigned.maxSize) throw fileTooLarge(presigned.maxSize);
    // Our copy is kept while PixelByte takes its own.
    const [storageKey] = await Promise.all([
      this.deps.renewer ? this.deps.renewer.keep(clientId, id, type, file.chunks) : null,
      this.upstream('PUT', () => this.deps.pixelbyte.putUpload(presigned.uploadUrl, { contentType: type, bytes: file.bytes, chunks: file.chunks })),
    ]);

    const upload = await this.deps.uploads.create({
      id,
      clientId,
      pixelbyteFileId: presigned.fileId,
      fileUrl: presigned.fileUrl,
      contentType: type,
      bytes: file.bytes,
      sha256: file.sha256,
      expiresAt: new Date(startedAt.getTime() + this.deps.lifeMs),
      storageKey,
    });
    this.deps.logger.info({ uploadId: id, clientId, fileId: presigned.fileId, contentType: type, bytes: file.bytes }, 'upload stored at PixelByte');
    return toUploadResource(upload);
  }

  /** Another client's upload is answered as one that does not exist. */
  async get(id: string, clientId: string): Promise<UploadResource> {
    const [upload] = isUuid(id) ? await this.deps.uploads.findOwned(clientId, [id]) : [];
    if (!upload) throw uploadNotFound(id);
    return toUploadResource(upload);
  }

  private async upstream<T>(step: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      this.deps.logger.warn({ step, kind: err.kind, code: err.code, httpStatus: err.httpStatus, err: err.message }, 'PixelByte did not take an upload');
      throw new AppError('UPSTREAM_UNAVAILABLE', `PixelByte did not take the upload (${step}); nothing was stored, send it again`, undefined, {
        'retry-after': '5',
      });
    }
  }
}

/** The first bytes, enough to sniff, without joining the whole file. */
function headOf(chunks: readonly Buffer[]): Buffer {
  const head: Buffer[] = [];
  let length = 0;
  for (const chunk of chunks) {
    if (length >= SNIFF_BYTES) break;
    head.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(head).subarray(0, SNIFF_BYTES);
}
