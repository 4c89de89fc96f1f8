import { createHash } from 'node:crypto';
import type { ErrorCode } from '../../errorCatalog.js';
import { AppError } from '../../errors.js';
import { decodedLength, isDataUrl, parseDataUrl } from '../../shared/dataUrl.js';
import { UPLOAD_REFERENCE_PREFIX } from '../../shared/uploadReference.js';
import { imageSourcesIn, mapImageSources } from './imageSources.js';
import { IMAGE_TYPES, isImageType } from './imageType.js';
import { judgeImage, type ReceivedFile, type UploadService } from './uploadService.js';

/** An edit's data: URL, decoded and judged: a file ready for the upload service. */
export interface InlineImage {
  /** The data URL as the client sent it: what it is replaced by `upload:<id>` at. */
  dataUrl: string;
  file: ReceivedFile;
}

interface InlineProblem {
  code: Extract<ErrorCode, 'FILE_TOO_LARGE' | 'FILE_EMPTY' | 'UNSUPPORTED_MEDIA_TYPE' | 'INVALID_INPUT'>;
  path: string;
  message: string;
}

export interface InlineImageDeps {
  uploads: Pick<UploadService, 'accept' | 'countRefusal'>;
  /** INLINE_IMAGE_MAX_BYTES: the largest image a data URL may decode to. */
  maxBytes: number;
}

/**
 * The data: URLs of an input the model schema has passed (so each has the form `data:<type>;base64,<base64>`),
 * decoded and judged as POST /v1/uploads judges a file: no larger than `maxBytes` (counted before decoding), not
 * empty, an image by its bytes, and the type it declares. Nothing is uploaded here: every image of an edit is judged
 * before any is, so a refused edit leaves no upload behind. The same data URL twice is one image. Throws the first
 * problem's code, with every problem in `details` (`input.image_urls.1`).
 */
export function readInlineImages(deps: InlineImageDeps, input: Record<string, unknown>): InlineImage[] {
  const images = new Map<string, InlineImage>();
  const problems: InlineProblem[] = [];
  for (const { path, value } of imageSourcesIn(input)) {
    if (!isDataUrl(value) || images.has(value)) continue;
    const problem = (code: InlineProblem['code'], message: string) => problems.push({ code, path: `input.${path}`, message });
    const parts = parseDataUrl(value);
    if (typeof parts === 'string') {
      problem('INVALID_INPUT', parts);
      continue;
    }
    const bytes = decodedLength(parts.base64);
    if (bytes > deps.maxBytes) {
      problem(
        'FILE_TOO_LARGE',
        `is a data URL of ${bytes} bytes; an inline image may be at most ${deps.maxBytes} (INLINE_IMAGE_MAX_BYTES): upload it (POST /v1/uploads) and name it ${UPLOAD_REFERENCE_PREFIX}<id>`,
      );
      continue;
    }
    if (!isImageType(parts.mediaType)) {
      problem('UNSUPPORTED_MEDIA_TYPE', `is a data URL of ${parts.mediaType || 'no type (text/plain)'}; it must declare one of ${IMAGE_TYPES.join(', ')}`);
      continue;
    }
    const decoded = Buffer.from(parts.base64, 'base64');
    const file: ReceivedFile = {
      chunks: [decoded],
      bytes: decoded.length,
      sha256: createHash('sha256').update(decoded).digest('hex'),
      declaredType: parts.mediaType,
    };
    const verdict = judgeImage(file);
    if ('code' in verdict) {
      problem(
        verdict.code,
        verdict.code === 'FILE_EMPTY'
          ? 'is a data URL with no data'
          : `is a data URL that declares ${parts.mediaType}, but its bytes are ${verdict.details?.detected ?? 'not a JPEG, PNG, WebP or GIF image'}`,
      );
      continue;
    }
    images.set(value, { dataUrl: value, file });
  }
  if (problems.length > 0) {
    for (const { code } of problems) deps.uploads.countRefusal('data_url', code);
    const [first] = problems as [InlineProblem];
    throw new AppError(
      first.code,
      `${first.path} ${first.message}`,
      problems.map(({ path, message }) => ({ path, message })),
    );
  }
  return [...images.values()];
}

/**
 * Uploads each inline image for `clientId` as POST /v1/uploads would, and gives back the input with `upload:<id>`
 * in each one's place: what the edit stores (and shows) instead of the data URL. Every upload is waited for, done or
 * not, before an answer: a failure (PixelByte or Postgres) throws the first one's error, and the uploads that were
 * made stay the client's, unused, until PixelByte deletes them.
 */
export async function uploadInlineImages(
  deps: InlineImageDeps,
  clientId: string,
  input: Record<string, unknown>,
  images: readonly InlineImage[],
): Promise<Record<string, unknown>> {
  if (images.length === 0) return input;
  const settled = await Promise.allSettled(images.map((image) => deps.uploads.accept(image.file, clientId, 'data_url')));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const references = new Map(
    images.map((image, i) => [image.dataUrl, `${UPLOAD_REFERENCE_PREFIX}${(settled[i] as PromiseFulfilledResult<{ id: string }>).value.id}`]),
  );
  return mapImageSources(input, (value) => references.get(value) ?? value);
}
