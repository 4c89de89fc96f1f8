import { z } from 'zod';
import type { Upload } from '../../store/uploads/repository.js';
import { IMAGE_TYPES } from './imageType.js';

const timestamp = z.string().describe('ISO 8601, UTC');

/** An upload as our API shows it. */
export const uploadResource = z.object({
  id: z.string().describe('Name it in an edit’s `image_urls` (or `image_url`) as `upload:<id>`'),
  fileUrl: z.string().describe('Where PixelByte serves the file; what the edit’s submit sends in place of `upload:<id>`'),
  contentType: z.enum(IMAGE_TYPES).describe('Read from the bytes'),
  bytes: z.number().int(),
  sha256: z.string().describe('Lowercase hex SHA-256 of the bytes'),
  expiresAt: timestamp.describe('When PixelByte deletes the file; an edit naming it must be submitted UPLOAD_EXPIRY_MARGIN_MS before'),
  createdAt: timestamp,
});
export type UploadResource = z.infer<typeof uploadResource>;

export function toUploadResource(upload: Upload): UploadResource {
  return {
    id: upload.id,
    fileUrl: upload.fileUrl,
    contentType: upload.contentType as UploadResource['contentType'],
    bytes: upload.bytes,
    sha256: upload.sha256,
    expiresAt: upload.expiresAt.toISOString(),
    createdAt: upload.createdAt.toISOString(),
  };
}
