import { uploadIdOf } from '../../shared/uploadReference.js';
import type { Upload, UploadRepository } from '../../store/uploads/repository.js';
import { imageSourcesIn, mapImageSources } from './imageSources.js';
import type { UploadRenewer } from './renewUploads.js';

/** One `upload:<id>` in an input, and where (`image_urls.1`, `image_url`). */
export interface UploadReference {
  path: string;
  id: string;
}

/** The `upload:<id>` references of an input the model schema has passed (so each names a well-formed id). */
export function uploadReferencesIn(input: Record<string, unknown>): UploadReference[] {
  return imageSourcesIn(input).flatMap(({ path, value }) => {
    const id = uploadIdOf(value);
    return id ? [{ path, id }] : [];
  });
}

export interface UploadProblem {
  code: 'UNKNOWN_UPLOAD' | 'UPLOAD_EXPIRED';
  /** Where in the edit: `input.image_urls.1`. */
  path: string;
  message: string;
}

export type ResolvedUploads = { kind: 'resolved'; input: Record<string, unknown> } | { kind: 'refused'; problems: UploadProblem[] };

export interface UploadResolverDeps {
  uploads: Pick<UploadRepository, 'findOwned'>;
  /** UPLOAD_EXPIRY_MARGIN_MS: an upload with less left than this is as good as gone. */
  expiryMarginMs: number;
  /** With a storage bucket: an upload with a copy there is never too old, PixelByte is given it again at submit. */
  renewer?: Pick<UploadRenewer, 'renewable' | 'renew'>;
  now?: () => Date;
}

/**
 * Reads the uploads an input names, as `clientId` owns them, and gives back the input PixelByte is sent, each
 * `upload:<id>` replaced by that upload's fileUrl; or why it cannot be: an upload that is not the client's (or does
 * not exist), or one PixelByte will have deleted, less the margin, by the time it runs the job. Read once at
 * accept (refused then) and again at submit (the edit fails then): between them an edit may wait long in a queue.
 * With a storage bucket, an upload that has a copy there is never refused as too old: at submit (`renew`) PixelByte is
 * given the file again and the input names the new one. An input that names no upload costs no read.
 */
export async function resolveUploads(
  deps: UploadResolverDeps,
  clientId: string,
  input: Record<string, unknown>,
  options: { renew?: boolean } = {},
): Promise<ResolvedUploads> {
  const references = uploadReferencesIn(input);
  if (references.length === 0) return { kind: 'resolved', input };
  const found = new Map<string, Upload>((await deps.uploads.findOwned(clientId, [...new Set(references.map((r) => r.id))])).map((u) => [u.id, u]));
  const usableUntil = (deps.now ?? (() => new Date()))().getTime() + deps.expiryMarginMs;
  const problems: UploadProblem[] = [];
  const renewed = new Set<string>();
  for (const { path, id } of references) {
    const upload = found.get(id);
    if (!upload) {
      problems.push({ code: 'UNKNOWN_UPLOAD', path: `input.${path}`, message: `names upload ${id}, which this client does not have` });
    } else if (upload.expiresAt.getTime() <= usableUntil && deps.renewer?.renewable(upload)) {
      // Uploaded again from our copy (once per upload, however often the input names it); at accept, only judged.
      if (options.renew && !renewed.has(id)) {
        renewed.add(id);
        found.set(id, await deps.renewer.renew(upload));
      }
    } else if (upload.expiresAt.getTime() <= usableUntil) {
      problems.push({
        code: 'UPLOAD_EXPIRED',
        path: `input.${path}`,
        message: `names upload ${id}, which PixelByte deletes at ${upload.expiresAt.toISOString()}, too soon for a job: upload the image again`,
      });
    }
  }
  if (problems.length > 0) return { kind: 'refused', problems };

  const fileUrlOf = (value: string) => {
    const id = uploadIdOf(value);
    return id ? found.get(id)!.fileUrl : value;
  };
  return { kind: 'resolved', input: mapImageSources(input, fileUrlOf) };
}
