import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import { isUuid } from '../../shared/ids.js';
import type { UploadRepository } from '../../store/uploads/repository.js';
import type { PixelByteClient } from '../../upstream/client.js';
import { UpstreamError } from '../../upstream/errors.js';
import { fileNameFor, IMAGE_TYPES, type ImageType, mediaTypeOf, SNIFF_BYTES, sniffImageType } from './imageType.js';
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

/** Where an upload came from: POST /v1/uploads, or an edit's data: URL. */
export type UploadSource = 'request' | 'data_url';

/** What an upload came to: stored at PixelByte and recorded, refused (the file: its code), or failed (PixelByte or Postgres). */
export interface UploadEvent {
  source: UploadSource;
  outcome: 'stored' | 'refused' | 'failed';
  /** The error code answered; '' when stored. */
  code: string;
  /** From the presign to the record, when it got that far. */
  seconds?: number;
}

export interface UploadServiceDeps {
  uploads: Pick<UploadRepository, 'create' | 'findOwned'>;
  pixelbyte: Pick<PixelByteClient, 'presignUpload' | 'putUpload'>;
  logger: Logger;
  /** Told of every upload's outcome (the metrics). */
  observe?: (event: UploadEvent) => void;
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
  async accept(file: ReceivedFile, clientId: string, source: UploadSource = 'request'): Promise<UploadResource> {
    const verdict = judgeImage(file);
    if ('code' in verdict) {
      this.countRefusal(source, verdict.code);
      throw new AppError(verdict.code, verdict.message, verdict.details);
    }
    const { type } = verdict;
    // Before the presign, so `expiresAt` errs early: PixelByte's 60 minutes start when the PUT ends.
    const startedAt = this.now();
    const seconds = () => (this.now().getTime() - startedAt.getTime()) / 1000;
    try {
      const id = randomUUID();
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
      this.deps.logger.info({ uploadId: id, clientId, fileId: presigned.fileId, contentType: type, bytes: file.bytes, source }, 'upload stored at PixelByte');
      this.deps.observe?.({ source, outcome: 'stored', code: '', seconds: seconds() });
      return toUploadResource(upload);
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'INTERNAL_ERROR';
      const outcome = err instanceof AppError && err.statusCode < 500 ? 'refused' : 'failed';
      this.deps.observe?.({ source, outcome, code, seconds: seconds() });
      throw err;
    }
  }

  /** An upload refused before it reached `accept` (its body unreadable, too large, of a type not taken): counted all the same. */
  countRefusal(source: UploadSource, code: string): void {
    this.deps.observe?.({ source, outcome: 'refused', code });
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

/** What a file's bytes make of it: an image of a type PixelByte takes, or why it is not one. */
export type ImageVerdict = { type: ImageType } | { code: 'FILE_EMPTY' | 'UNSUPPORTED_MEDIA_TYPE'; message: string; details?: Record<string, unknown> };

/**
 * The file's type by its bytes; the type it was sent as, if any, must be the same (application/octet-stream says
 * nothing). Pure: an edit's data: URLs are all judged before any of them is uploaded.
 */
export function judgeImage(file: Pick<ReceivedFile, 'chunks' | 'bytes' | 'declaredType'>): ImageVerdict {
  if (file.bytes === 0) return { code: 'FILE_EMPTY', message: 'The file is empty' };
  const type = sniffImageType(headOf(file.chunks));
  if (!type) {
    return {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'The file is not a JPEG, PNG, WebP or GIF image (judged by its bytes)',
      details: { allowed: IMAGE_TYPES },
    };
  }
  const declared = file.declaredType === undefined ? undefined : mediaTypeOf(file.declaredType);
  if (declared !== undefined && declared !== 'application/octet-stream' && declared !== type) {
    return { code: 'UNSUPPORTED_MEDIA_TYPE', message: `The file was sent as ${declared}, but its bytes are ${type}`, details: { declared, detected: type } };
  }
  return { type };
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
